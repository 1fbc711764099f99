package server_test

import (
	"os"
	"strings"
	"testing"

	"github.com/pkid/pkid/server"
)

// TestREADMEConfigParses keeps the configuration example in README.md in
// step with what ParseFile accepts.
func TestREADMEConfigParses(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "```json\n")
	if !ok {
		t.Fatal("README.md has no ```json block")
	}
	block, _, _ := strings.Cut(rest, "```")
	c, err := server.ParseFile("README.md", []byte(block))
	if err != nil {
		t.Fatal(err)
	}
	if c.CertMap == nil || len(c.CertMap.Rules) != 4 || len(c.Publish) != 1 {
		t.Errorf("parsed %+v; want 4 certmap rules and 1 publish target", c)
	}
}
