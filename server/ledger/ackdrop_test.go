package ledger_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
)

// ackDropper is a TCP proxy in front of PostgreSQL that can lose the acknowledgement of a
// COMMIT: the server has committed, but the client sees its connection break instead of
// "COMMIT". That is the case idempotency keys exist for, and it cannot be produced reliably by
// killing backends.
type ackDropper struct {
	ln       net.Listener
	upstream string
	drop     atomic.Int32 // COMMIT acknowledgements still to lose
	dropped  atomic.Int32
	wg       sync.WaitGroup
}

// startAckDropper proxies to the server of dbURL and returns the URL to connect through it.
func startAckDropper(t *testing.T, dbURL string) (*ackDropper, string) {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &ackDropper{ln: ln, upstream: u.Host}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		p.wg.Wait()
	})
	u.Host = ln.Addr().String()
	return p, u.String()
}

func (p *ackDropper) serve() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.upstream)
		if err != nil {
			client.Close()
			continue
		}
		go func() {
			_, _ = io.Copy(server, client)
			server.Close()
		}()
		go p.relay(server, client)
	}
}

// relay copies the server's messages (type byte, int32 length, body; the driver never asks for
// TLS here) to the client, and closes both ends instead of forwarding a COMMIT's
// CommandComplete while drops are armed.
func (p *ackDropper) relay(server, client net.Conn) {
	defer client.Close()
	defer server.Close()
	r := bufio.NewReader(server)
	hdr := make([]byte, 5)
	for {
		if _, err := io.ReadFull(r, hdr); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint32(hdr[1:])) - 4
		if n < 0 {
			return
		}
		msg := make([]byte, 5+n)
		copy(msg, hdr)
		if _, err := io.ReadFull(r, msg[5:]); err != nil {
			return
		}
		if hdr[0] == 'C' && bytes.HasPrefix(msg[5:], []byte("COMMIT\x00")) && p.takeDrop() {
			return
		}
		if _, err := client.Write(msg); err != nil {
			return
		}
	}
}

func (p *ackDropper) takeDrop() bool {
	for {
		n := p.drop.Load()
		if n <= 0 {
			return false
		}
		if p.drop.CompareAndSwap(n, n-1) {
			p.dropped.Add(1)
			return true
		}
	}
}
