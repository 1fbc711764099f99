package main

import (
	"testing"

	"github.com/pkid/pkid/internal/pgtest"
)

// TestMain stops the throw-away PostgreSQL cluster that --store
// postgres:// tests share.
func TestMain(m *testing.M) { pgtest.Main(m) }
