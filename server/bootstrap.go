package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/pkid/pkid/ca"
	"github.com/pkid/pkid/store"
)

// Names of the files at the top of the data directory (DESIGN.md: stable
// names scripts and tests rely on).
const (
	CAFileName         = "ca.pem"          // the root certificate(s) to trust
	ChainFileName      = "chain.pem"       // issuing CA + root
	AdminCertFileName  = "admin.pem"       // the administrator's client certificate
	AdminKeyFileName   = "admin.key.pem"   // its key, mode 0600
	AdminChainFileName = "admin.chain.pem" // certificate + issuing chain
	ResponderDirName   = "ocsp"            // delegated OCSP responder certificates and keys
)

// Bootstrap describes the data directory a Server runs on: what the first
// run created and where the files users hand to clients are.
type Bootstrap struct {
	// CreatedCA is true when this run created the CA hierarchy;
	// CreatedAdmin when it issued the administrator's certificate.
	CreatedCA, CreatedAdmin bool
	// CAs are the store's CAs, in creation order.
	CAs []*store.CA
	// DefaultCA is the CA that issues by default (the issuing CA).
	DefaultCA *store.CA
	// URL is the base URL the CAs write into certificates (the default
	// CA's; "" when it has none).
	URL string
	// Paths of the files at the top of the data directory.
	CAFile, ChainFile, AdminCert, AdminKey, AdminChain string
	// AdminSerial is the serial of the administrator's certificate.
	AdminSerial string
}

// bootstrap creates what a first run needs: the CA hierarchy (when the
// store has no CA) with URLs pointing at base, and the administrator's
// client certificate (when admin.pem is missing).
func (s *Server) bootstrap(ctx context.Context, base string) (*Bootstrap, error) {
	dir := s.cfg.Dir
	b := &Bootstrap{
		CAFile: filepath.Join(dir, CAFileName), ChainFile: filepath.Join(dir, ChainFileName),
		AdminCert: filepath.Join(dir, AdminCertFileName), AdminKey: filepath.Join(dir, AdminKeyFileName),
		AdminChain: filepath.Join(dir, AdminChainFileName),
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	// Nodes starting at once on an empty shared store: one creates the CA.
	unlock, err := s.waitLock(ctx, "bootstrap")
	if err != nil {
		return nil, err
	}
	defer unlock()
	cas, err := s.st.CAs(ctx)
	if err != nil {
		return nil, fmt.Errorf("read CAs: %w", err)
	}
	if len(cas) == 0 {
		var pass []byte
		if s.cfg.InitPassphrase != nil {
			if pass, err = s.cfg.InitPassphrase(); err != nil {
				return nil, err
			}
		}
		res, err := ca.Init(ctx, s.st, ca.InitOptions{KeyType: s.cfg.KeyType, URL: base, Passphrase: pass, Time: s.cfg.Now})
		if err != nil {
			return nil, fmt.Errorf("create the CA in %s: %w", dir, err)
		}
		if err := writeFileAtomic(b.CAFile, res.RootsPEM, 0o644); err != nil {
			return nil, err
		}
		if err := writeFileAtomic(b.ChainFile, res.ChainPEM, 0o644); err != nil {
			return nil, err
		}
		b.CreatedCA = true
		if cas, err = s.st.CAs(ctx); err != nil {
			return nil, fmt.Errorf("read CAs: %w", err)
		}
		s.log.Info("created CA", "dir", dir, "url", base, "cas", len(cas))
	}
	b.CAs = cas
	for _, c := range cas {
		if c.Default {
			b.DefaultCA = c
		}
	}
	if b.DefaultCA == nil {
		b.DefaultCA = cas[len(cas)-1]
	}
	b.URL = b.DefaultCA.URL
	if !b.CreatedCA {
		if err := s.writeTrustFiles(b); err != nil {
			return nil, err
		}
	}
	if b.URL == "" {
		s.log.Warn("the CA writes no URLs into certificates; clients cannot find this server's OCSP responder or CRLs (create the data directory with `pkid serve` or `pkid init --url`)", "ca", b.DefaultCA.ID)
	} else if b.URL != base {
		s.log.Info("the CA's certificates point to another base URL than this listener", "url", b.URL, "listener", base)
	}

	_, statErr := os.Stat(b.AdminCert)
	if errors.Is(statErr, os.ErrNotExist) && !b.CreatedCA {
		serial, elsewhere, err := s.adminIssuedElsewhere(ctx)
		if err != nil {
			return nil, err
		}
		if elsewhere {
			s.log.Info("no administrator's certificate in this data directory: it was issued with the CA and its key stays where it was made; issue another with `pkid issue --profile client --subject "+AdminSubject+"`",
				"serial", serial, "dir", dir)
			return b, nil
		}
	}
	if err := statErr; errors.Is(err, os.ErrNotExist) {
		iss, err := s.svc.Issue(ctx, ca.Request{Profile: "client", Subject: AdminSubject, KeyType: s.cfg.KeyType, CAID: b.DefaultCA.ID})
		if err != nil {
			return nil, fmt.Errorf("issue the administrator's certificate: %w", err)
		}
		key, err := iss.KeyPEM()
		if err != nil {
			return nil, err
		}
		// The key first, so a crash never leaves a certificate without it.
		if err := writeFileAtomic(b.AdminKey, key, 0o600); err != nil {
			return nil, err
		}
		if err := writeFileAtomic(b.AdminChain, iss.ChainPEM(), 0o644); err != nil {
			return nil, err
		}
		if err := writeFileAtomic(b.AdminCert, iss.CertPEM(), 0o644); err != nil {
			return nil, err
		}
		b.CreatedAdmin, b.AdminSerial = true, iss.Serial
		if err := s.st.SetMeta(ctx, adminSerialKey, iss.Serial); err != nil {
			return nil, fmt.Errorf("record the administrator's serial: %w", err)
		}
		s.log.Info("issued administrator certificate", "subject", AdminSubject, "serial", iss.Serial, "file", b.AdminCert)
	} else if err != nil {
		return nil, fmt.Errorf("administrator certificate: %w", err)
	} else if data, err := os.ReadFile(b.AdminCert); err == nil {
		if c, err := ca.ParseCertificate(data); err == nil {
			b.AdminSerial = ca.FormatSerial(c.SerialNumber)
		}
	}
	return b, nil
}

// baseURL is the default base URL for a listener's address.
func baseURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		if h, err := os.Hostname(); err == nil && h != "" {
			host = h
		}
	}
	return "http://" + net.JoinHostPort(host, port)
}

// writeFileAtomic writes via a temporary file and rename, so readers never
// see half a file.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
