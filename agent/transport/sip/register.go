package sip

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// keepRegistered keeps the REGISTER binding until ctx is done, refreshing
// it before it expires and retrying with back-off when the registrar
// refuses or cannot be reached; then it unregisters.
func (s *Server) keepRegistered(ctx context.Context, dua *sipgo.DialogUA, r *registration) {
	log := s.cfg.log.With("registrar", r.uri)
	var aor sip.Uri
	if err := sip.ParseUri(r.uri, &aor); err != nil {
		log.Error("sip: registrar URI", "err", err)
		return
	}
	b := &binding{dua: dua, aor: aor, r: r, callID: sip.CallIDHeader(sip.GenerateTagN(24))}
	backoff := 5 * time.Second
	registered := false
	for {
		granted, err := b.register(ctx, r.expiry)
		next := backoff
		switch {
		case ctx.Err() != nil:
		case err != nil:
			log.Warn("sip: registration failed; retrying", "err", err, "in", backoff)
			registered = false
			backoff = min(2*backoff, 5*time.Minute)
		default:
			if !registered {
				log.Info("sip: registered", "expires", granted)
			}
			registered, backoff = true, 5*time.Second
			next = max(granted*4/5, 10*time.Second)
		}
		t := time.NewTimer(next)
		select {
		case <-t.C:
			continue
		case <-ctx.Done():
			t.Stop()
		}
		break
	}
	if registered {
		uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := b.register(uctx, 0); err != nil {
			log.Warn("sip: unregister failed", "err", err)
		}
	}
}

// binding is one registration: the same Call-ID with a rising CSeq, as
// RFC 3261 §10.2.4 asks for refreshes.
type binding struct {
	dua    *sipgo.DialogUA
	aor    sip.Uri
	r      *registration
	callID sip.CallIDHeader
	cseq   uint32
	tag    string
}

// register sends one REGISTER for expiry (0 removes the binding) and
// returns the expiry the registrar granted.
func (b *binding) register(ctx context.Context, expiry time.Duration) (time.Duration, error) {
	if b.tag == "" {
		b.tag = sip.GenerateTagN(16)
	}
	b.cseq++
	recipient := sip.Uri{Scheme: b.aor.Scheme, Host: b.aor.Host, Port: b.aor.Port, UriParams: b.aor.UriParams, Headers: sip.NewParams()}
	req := sip.NewRequest(sip.REGISTER, recipient)
	from := sip.FromHeader{Address: b.aor, Params: sip.NewParams()}
	from.Params.Add("tag", b.tag)
	to := sip.ToHeader{Address: b.aor, Params: sip.NewParams()}
	cseq := sip.CSeqHeader{SeqNo: b.cseq, MethodName: sip.REGISTER}
	callID := b.callID
	req.AppendHeader(&from)
	req.AppendHeader(&to)
	req.AppendHeader(&callID)
	req.AppendHeader(&cseq)
	req.AppendHeader(sip.HeaderClone(&b.dua.ContactHDR))
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(int(expiry/time.Second))))
	res, err := b.dua.Client.Do(ctx, req)
	if err != nil {
		return 0, err
	}
	if (res.StatusCode == sip.StatusUnauthorized || res.StatusCode == sip.StatusProxyAuthRequired) && b.r.user != "" {
		res, err = b.dua.Client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: b.r.user, Password: b.r.password})
		if err != nil {
			return 0, err
		}
		b.cseq = req.CSeq().SeqNo
	}
	if res.StatusCode != sip.StatusOK {
		return 0, fmt.Errorf("registrar answered %d %s", res.StatusCode, res.Reason)
	}
	granted := expiry
	if h := res.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(h.Value()); err == nil && n >= 0 {
			granted = time.Duration(n) * time.Second
		}
	}
	if c := res.Contact(); c != nil {
		if v, ok := c.Params.Get("expires"); ok {
			if n, err := strconv.Atoi(v); err == nil && n >= 0 {
				granted = time.Duration(n) * time.Second
			}
		}
	}
	return granted, nil
}
