package ldap

import (
	"context"
	"crypto/rand"
	"sync"
)

// search answers a SearchRequest (RFC 4511 §4.5): entries are streamed as
// the backend finds them; with the paged results control (RFC 2696) one
// page is returned with a connection-bound cookie.
func (c *conn) search(ctx context.Context, o *operation, id Identity, m *Message, req *SearchRequest) (Op, []Control) {
	var page *Page
	if ctl := FindControl(m.Controls, OIDPagedResults); ctl != nil {
		pr, err := DecodePagedResults(ctl.Value)
		if err != nil {
			return &SearchResultDone{LDAPResult{ResultCode: ResultProtocolError, DiagnosticMessage: "malformed paged results control: " + err.Error()}}, nil
		}
		var backend []byte
		if len(pr.Cookie) > 0 {
			var ok bool
			if backend, ok = c.paged.take(pr.Cookie, req); !ok {
				return &SearchResultDone{LDAPResult{ResultCode: ResultProtocolError, DiagnosticMessage: "paged results cookie is invalid or expired; restart the search"}}, nil
			}
		}
		if pr.Size <= 0 {
			// RFC 2696 §3: a page size of zero abandons the paged search.
			done := &PagedResults{}
			return &SearchResultDone{LDAPResult{ResultCode: ResultSuccess}}, []Control{done.Control(false)}
		}
		page = &Page{Size: int(pr.Size), Cookie: backend}
	}
	send := func(e *SearchResultEntry) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return o.send(e, nil)
	}
	next, err := c.s.cfg.Backend.Search(ctx, id, req, page, send)
	res := c.result(ctx, o, err)
	if page == nil {
		return &SearchResultDone{res}, nil
	}
	out := &PagedResults{}
	if len(next) > 0 && res.ResultCode == ResultSuccess {
		out.Cookie = c.paged.put(next, req)
	}
	return &SearchResultDone{res}, []Control{out.Control(false)}
}

// pagedSearches maps the cookies a connection's clients hold to the
// backend's position, so a cookie is useless on another connection and a
// client cannot make the server keep unbounded state.
type pagedSearches struct {
	mu    sync.Mutex
	max   int
	order [][]byte // tokens, oldest first
	m     map[string]pagedState
}

type pagedState struct {
	backend []byte
	base    string
	filter  string
	scope   Scope
}

func (p *pagedSearches) put(backend []byte, req *SearchRequest) []byte {
	tok := make([]byte, 16)
	rand.Read(tok)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = map[string]pagedState{}
	}
	for len(p.order) >= p.max {
		delete(p.m, string(p.order[0]))
		p.order = p.order[1:]
	}
	p.m[string(tok)] = pagedState{backend: append([]byte(nil), backend...), base: req.BaseObject, filter: req.Filter.String(), scope: req.Scope}
	p.order = append(p.order, tok)
	return tok
}

// take removes and returns the backend cookie of tok, provided the request
// is the one the cookie belongs to (RFC 2696 §3: the other fields must be
// the same).
func (p *pagedSearches) take(tok []byte, req *SearchRequest) ([]byte, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st, ok := p.m[string(tok)]
	if !ok {
		return nil, false
	}
	delete(p.m, string(tok))
	for i, t := range p.order {
		if string(t) == string(tok) {
			p.order = append(p.order[:i], p.order[i+1:]...)
			break
		}
	}
	if st.base != req.BaseObject || st.scope != req.Scope || st.filter != req.Filter.String() {
		return nil, false
	}
	return st.backend, true
}

// compare answers a CompareRequest (RFC 4511 §4.10).
func (c *conn) compare(ctx context.Context, o *operation, id Identity, req *CompareRequest) Op {
	ok, err := c.s.cfg.Backend.Compare(ctx, id, req)
	if err != nil {
		return &CompareResponse{c.result(ctx, o, err)}
	}
	if ok {
		return &CompareResponse{LDAPResult{ResultCode: ResultCompareTrue}}
	}
	return &CompareResponse{LDAPResult{ResultCode: ResultCompareFalse}}
}
