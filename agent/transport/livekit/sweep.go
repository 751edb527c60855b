package livekit

import (
	"context"
	"math/rand/v2"
	"sort"
	"time"

	lkp "github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
)

// roomView is what the sweep needs to know of a room.
type roomView struct {
	name      string
	callers   int // participants that are not agents (nor operators)
	agents    int // agents of the worker's name
	operators int // people the call was handed to
}

// sweeper decides which rooms lost their agent, a plain type fed one
// listing at a time. A room with a caller and no agent of the worker's name
// (nor an operator the call was handed to) is dispatched to once it has
// looked so for the grace period (a new room's agent takes a moment to
// join); after a dispatch it waits another grace period before trying
// again.
type sweeper struct {
	grace time.Duration
	since map[string]time.Time // room -> when it was first seen without an agent
}

func newSweeper(grace time.Duration) *sweeper {
	return &sweeper{grace: grace, since: map[string]time.Time{}}
}

// next returns the rooms to dispatch to now, sorted by name.
func (s *sweeper) next(now time.Time, rooms []roomView) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range rooms {
		if r.callers == 0 || r.agents > 0 || r.operators > 0 {
			continue
		}
		seen[r.name] = true
		first, ok := s.since[r.name]
		switch {
		case !ok:
			s.since[r.name] = now
		case now.Sub(first) >= s.grace:
			out = append(out, r.name)
			s.since[r.name] = now
		}
	}
	for name := range s.since {
		if !seen[name] {
			delete(s.since, name)
		}
	}
	sort.Strings(out)
	return out
}

// sweepLoop lists rooms every sweep interval (with jitter, so that workers
// do not sweep in step) and dispatches the worker's agent to rooms that
// lost theirs, until ctx is done.
func (w *Worker) sweepLoop(ctx context.Context) {
	httpURL := "http" + w.url[len("ws"):]
	rooms := lksdk.NewRoomServiceClient(httpURL, w.key, w.secret)
	dispatch := lksdk.NewAgentDispatchServiceClient(httpURL, w.key, w.secret)
	sw := newSweeper(w.cfg.sweepGrace)
	for {
		jitter := time.Duration(rand.Int64N(int64(w.cfg.sweepInterval)/4 + 1))
		select {
		case <-ctx.Done():
			return
		case <-time.After(w.cfg.sweepInterval + jitter):
		}
		views, err := w.listRooms(ctx, rooms)
		if err != nil {
			w.cfg.log.Warn("livekit: room sweep", "err", err)
			continue
		}
		for _, name := range sw.next(time.Now(), views) {
			w.cfg.log.Info("livekit: room lost its agent; dispatching again", "room", name)
			if _, err := dispatch.CreateDispatch(ctx, &lkp.CreateAgentDispatchRequest{Room: name, AgentName: w.cfg.agentName}); err != nil {
				w.cfg.log.Warn("livekit: dispatch", "room", name, "err", err)
			}
		}
	}
}

func (w *Worker) listRooms(ctx context.Context, rs *lksdk.RoomServiceClient) ([]roomView, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := rs.ListRooms(ctx, &lkp.ListRoomsRequest{})
	if err != nil {
		return nil, err
	}
	var views []roomView
	for _, r := range res.GetRooms() {
		if r.GetNumParticipants() == 0 {
			continue
		}
		ps, err := rs.ListParticipants(ctx, &lkp.ListParticipantsRequest{Room: r.GetName()})
		if err != nil {
			return nil, err
		}
		v := roomView{name: r.GetName()}
		for _, p := range ps.GetParticipants() {
			switch {
			case p.GetAttributes()[AttrRole] == RoleOperator:
				v.operators++
			case p.GetKind() != lkp.ParticipantInfo_AGENT:
				v.callers++
			case p.GetAttributes()[attrAgentName] == w.cfg.agentName:
				v.agents++
			}
		}
		views = append(views, v)
	}
	return views, nil
}
