package main

import (
	"flag"
	"io"
	"os"
)

// globals are the flags every command takes, and what the command opened
// with them (closed when the command ends).
type globals struct {
	dir            string // data directory: --dir, PKID_DIR, ./pkid-data
	storeURL       string // --store, PKID_STORE; "" = SQLite in dir
	passphraseFile string // --passphrase-file; else PKID_PASSPHRASE; else a prompt on a terminal

	stdin          io.Reader
	stdout, stderr io.Writer
	closers        []io.Closer
}

func (g *globals) register(fs *flag.FlagSet) {
	dir := os.Getenv("PKID_DIR")
	if dir == "" {
		dir = "pkid-data"
	}
	fs.StringVar(&g.dir, "dir", dir, "data directory (env PKID_DIR)")
	fs.StringVar(&g.storeURL, "store", os.Getenv("PKID_STORE"), "store URL (env PKID_STORE; default: SQLite in the data directory)")
	fs.StringVar(&g.passphraseFile, "passphrase-file", "", "file holding the CA key passphrase (else env PKID_PASSPHRASE, else a prompt on a terminal)")
}

func (g *globals) close() {
	for i := len(g.closers) - 1; i >= 0; i-- {
		g.closers[i].Close()
	}
}
