package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"

	"golang.org/x/term"

	"github.com/pkid/pkid/ca"
)

// errNoPassphrase names the three ways to give the CA key passphrase.
var errNoPassphrase = errors.New("the CA key is encrypted: give its passphrase with --passphrase-file FILE, the PKID_PASSPHRASE environment variable, or run pkid on a terminal to be prompted")

// passphrase returns the CA key passphrase from --passphrase-file,
// PKID_PASSPHRASE, or a prompt when stdin is a terminal. ca.Service calls
// it only when an encrypted key must be unlocked.
func (g *globals) passphrase() ([]byte, error) {
	if p, ok, err := g.givenPassphrase(); ok || err != nil {
		return p, err
	}
	if f, ok := g.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(g.stderr, "Passphrase for the CA key: ")
		p, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(g.stderr)
		if err != nil {
			return nil, fmt.Errorf("read passphrase: %w", err)
		}
		return p, nil
	}
	return nil, errNoPassphrase
}

// givenPassphrase is the passphrase from --passphrase-file or
// PKID_PASSPHRASE, without prompting; ok is false when neither is set.
func (g *globals) givenPassphrase() (p []byte, ok bool, err error) {
	if g.passphraseFile != "" {
		b, err := os.ReadFile(g.passphraseFile)
		if err != nil {
			return nil, false, fmt.Errorf("read --passphrase-file: %w", err)
		}
		b = bytes.TrimRight(b, "\r\n")
		if len(b) == 0 {
			return nil, false, fmt.Errorf("--passphrase-file %s is empty", g.passphraseFile)
		}
		return b, true, nil
	}
	if v := os.Getenv("PKID_PASSPHRASE"); v != "" {
		return []byte(v), true, nil
	}
	return nil, false, nil
}

// newPassphrase asks for the passphrase that will encrypt new CA keys:
// given ones are used as they are; on a terminal pkid asks twice and an
// empty answer means no encryption; otherwise keys are not encrypted.
func (g *globals) newPassphrase() ([]byte, error) {
	if p, ok, err := g.givenPassphrase(); ok || err != nil {
		return p, err
	}
	f, ok := g.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, nil
	}
	fmt.Fprint(g.stderr, "Passphrase to encrypt the CA keys (empty for none): ")
	p, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(g.stderr)
	if err != nil || len(p) == 0 {
		return nil, err
	}
	fmt.Fprint(g.stderr, "Again: ")
	again, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(g.stderr)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(p, again) {
		return nil, errors.New("the passphrases differ; nothing was created")
	}
	return p, nil
}

// service opens the store and the issuance service over it; both close
// when the command ends.
func (g *globals) service(ctx context.Context) (*ca.Service, error) {
	st, err := g.openStore(ctx, false)
	if err != nil {
		return nil, err
	}
	svc := ca.New(st, ca.Options{Passphrase: g.passphrase, Where: g.dir})
	g.closers = append(g.closers, svc)
	return svc, nil
}
