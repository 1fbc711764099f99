package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pkid/pkid/store"
)

// State is what a target has published for one CA, as kept in the store
// under StateKey(target, ca). It is the publisher's persistent queue: a CA
// whose latest CRL differs from what State records is still to publish.
type State struct {
	Target string `json:"target"`
	CA     string `json:"ca"`
	DN     string `json:"dn,omitempty"`
	// CRLNumber and CRLHash (hex SHA-256 of the DER) describe the full CRL
	// last published; DeltaNumber and DeltaHash the delta CRL; CertHash
	// the CA certificate.
	CRLNumber   int64  `json:"crl_number,omitempty"`
	CRLHash     string `json:"crl_sha256,omitempty"`
	DeltaNumber int64  `json:"delta_number,omitempty"`
	DeltaHash   string `json:"delta_sha256,omitempty"`
	CertHash    string `json:"cert_sha256,omitempty"`
	// LastSuccess is when the entry was last verified to hold what the
	// store holds; LastAttempt when the publisher last tried.
	LastSuccess time.Time `json:"last_success,omitzero"`
	LastAttempt time.Time `json:"last_attempt,omitzero"`
	// LastError is the error of the last attempt ("" after a success);
	// Failures counts consecutive failed attempts.
	LastError string `json:"last_error,omitempty"`
	Failures  int    `json:"failures,omitempty"`
	// PendingSince is when the oldest change not yet published was made;
	// zero when the entry is current.
	PendingSince time.Time `json:"pending_since,omitzero"`
}

// Lag is how long the oldest unpublished change has waited at now; zero
// when current.
func (s *State) Lag(now time.Time) time.Duration {
	if s.PendingSince.IsZero() || now.Before(s.PendingSince) {
		return 0
	}
	return now.Sub(s.PendingSince)
}

// StateKey is the store Meta key of a target's state for a CA.
func StateKey(target, caID string) string { return "publish/" + target + "/" + caID }

// TargetsKey is the store Meta key listing the configured target names
// (a JSON array), written when a Publisher starts.
const TargetsKey = "publish/targets"

// LoadState reads a target's state for a CA; a missing key is an empty
// State.
func LoadState(ctx context.Context, st store.Store, target, caID string) (*State, error) {
	s := &State{Target: target, CA: caID}
	v, err := st.Meta(ctx, StateKey(target, caID))
	if errors.Is(err, store.ErrNotFound) || err == nil && v == "" {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read publish state %s/%s: %w", target, caID, err)
	}
	if err := json.Unmarshal([]byte(v), s); err != nil {
		return nil, fmt.Errorf("publish state %s/%s is corrupt: %w", target, caID, err)
	}
	return s, nil
}

func saveState(ctx context.Context, st store.Store, s *State) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return st.SetMeta(ctx, StateKey(s.Target, s.CA), string(b))
}

// TargetNames returns the target names the last started Publisher
// recorded in the store.
func TargetNames(ctx context.Context, st store.Store) ([]string, error) {
	v, err := st.Meta(ctx, TargetsKey)
	if errors.Is(err, store.ErrNotFound) || err == nil && v == "" {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	if err := json.Unmarshal([]byte(v), &names); err != nil {
		return nil, fmt.Errorf("%s is corrupt: %w", TargetsKey, err)
	}
	return names, nil
}

// CAStatus is one row of `pkid publish status`: a target's state for a CA
// next to the store's current CRL.
type CAStatus struct {
	State
	// CurrentCRL is the number of the latest full CRL in the store (0 if
	// none); Current reports whether the published state matches it.
	CurrentCRL int64   `json:"current_crl_number"`
	Current    bool    `json:"current"`
	LagSeconds float64 `json:"lag_seconds"`
	lag        time.Duration
}

// ReadStatus reads the published state of every target in names (nil: the
// names in the store) for every CA, for `pkid publish status`.
func ReadStatus(ctx context.Context, st store.Store, names []string, now time.Time) ([]CAStatus, error) {
	if names == nil {
		var err error
		if names, err = TargetNames(ctx, st); err != nil {
			return nil, err
		}
	}
	cas, err := st.CAs(ctx)
	if err != nil {
		return nil, err
	}
	var out []CAStatus
	for _, t := range names {
		for _, c := range cas {
			s, err := LoadState(ctx, st, t, c.ID)
			if err != nil {
				return nil, err
			}
			if s.LastAttempt.IsZero() && s.CRLNumber == 0 {
				continue // never selected for this target
			}
			row := CAStatus{State: *s}
			if crl, err := st.LatestCRL(ctx, c.ID, false); err == nil {
				row.CurrentCRL = crl.Number
				row.Current = s.CRLHash == hashHex(crl.DER)
			} else if !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			row.lag = s.Lag(now)
			if !row.Current && s.PendingSince.IsZero() && row.CurrentCRL != 0 {
				// A change the publisher has not seen yet (it is not
				// running): measure from the CRL's thisUpdate.
				if crl, err := st.LatestCRL(ctx, c.ID, false); err == nil && now.After(crl.ThisUpdate) {
					row.lag = now.Sub(crl.ThisUpdate)
				}
			}
			row.LagSeconds = row.lag.Seconds()
			out = append(out, row)
		}
	}
	return out, nil
}
