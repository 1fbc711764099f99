package server_test

import (
	"strings"
	"testing"

	"github.com/pkid/pkid/server"
)

// FuzzParseFile: the config file parser never panics, and what it
// accepts has a valid log level and format.
func FuzzParseFile(f *testing.F) {
	f.Add([]byte(`{"dir": "/d", "http": "127.0.0.1:9", "allow_remote": true, "url": "http://x:9", "log_format": "json", "log_level": "debug"}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"http": 1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := server.ParseFile("fuzz.json", b)
		if err != nil {
			return
		}
		if _, err := server.ParseLogLevel(c.LogLevel); err != nil {
			t.Errorf("accepted log level %q: %v", c.LogLevel, err)
		}
		if c.LogFormat != "" && c.LogFormat != "text" && c.LogFormat != "json" {
			t.Errorf("accepted log format %q", c.LogFormat)
		}
		if strings.Count(string(b), "{") == 0 {
			t.Errorf("accepted %q, which holds no JSON object", b)
		}
	})
}
