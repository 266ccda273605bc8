package wt

import (
	"errors"
	"testing"
	"time"
)

func TestServerConfig_Validate(t *testing.T) {
	valid := func() ServerConfig {
		return ServerConfig{Addr: "127.0.0.1:0", Certificate: sharedCert(t).TLS}
	}
	tests := []struct {
		name    string
		edit    func(*ServerConfig)
		wantErr bool
	}{
		{name: "defaults", edit: func(*ServerConfig) {}},
		{name: "missing addr", edit: func(c *ServerConfig) { c.Addr = "" }, wantErr: true},
		{name: "missing certificate", edit: func(c *ServerConfig) { c.Certificate.Certificate = nil }, wantErr: true},
		{name: "relative path", edit: func(c *ServerConfig) { c.Path = "signaling" }, wantErr: true},
		{name: "negative stream timeout", edit: func(c *ServerConfig) { c.AcceptStreamTimeout = -time.Second }, wantErr: true},
		{name: "keep-alive not below idle timeout", edit: func(c *ServerConfig) {
			c.MaxIdleTimeout = 5 * time.Second
			c.KeepAlivePeriod = 5 * time.Second
		}, wantErr: true},
		{name: "short idle timeout gets shorter keep-alive", edit: func(c *ServerConfig) { c.MaxIdleTimeout = 3 * time.Second }},
		{name: "origin with path", edit: func(c *ServerConfig) { c.AllowedOrigins = []string{"https://app.example/page"} }, wantErr: true},
		{name: "origin without scheme", edit: func(c *ServerConfig) { c.AllowedOrigins = []string{"app.example"} }, wantErr: true},
		{name: "wildcard origin", edit: func(c *ServerConfig) { c.AllowedOrigins = []string{"*"} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid()
			tt.edit(&cfg)
			err := cfg.Validate()
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidConfig) {
					t.Fatalf("Validate: got %v, want ErrInvalidConfig", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
		})
	}
}

func TestNewServer_NilHandler(t *testing.T) {
	_, err := NewServer(ServerConfig{Addr: "127.0.0.1:0", Certificate: sharedCert(t).TLS}, nil)
	if !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("NewServer: got %v, want ErrInvalidConfig", err)
	}
}

func TestNormalizeOrigin(t *testing.T) {
	tests := []struct {
		origin string
		want   string
	}{
		{origin: "https://App.Example", want: "https://app.example"},
		{origin: "https://app.example:443", want: "https://app.example"},
		{origin: "http://app.example:80", want: "http://app.example"},
		{origin: "https://app.example:80", want: "https://app.example:80"},
		{origin: "http://[::1]:8080", want: "http://[::1]:8080"},
		{origin: "http://127.0.0.1:8080/", want: "http://127.0.0.1:8080"},
	}
	for _, tt := range tests {
		t.Run(tt.origin, func(t *testing.T) {
			got, err := normalizeOrigin(tt.origin)
			if err != nil {
				t.Fatalf("normalizeOrigin(%q): %v", tt.origin, err)
			}
			if got != tt.want {
				t.Errorf("normalizeOrigin(%q): got %q, want %q", tt.origin, got, tt.want)
			}
		})
	}
}
