package actors_test

import (
	"fmt"
	"log/slog"
	"testing"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/convene/convene/actors"
	"github.com/convene/convene/auth/jointoken"
)

// newController spawns a second MeetingController, under another name, for
// admission tests that need their own limits.
func newController(h *harness, cfg actors.ControllerConfig) *actor.PID {
	h.t.Helper()
	cfg.Logger = slog.New(slog.DiscardHandler)
	pid, err := h.system.Root.SpawnNamed(actors.NewControllerProps(cfg), fmt.Sprintf("controller-%s", h.t.Name()))
	if err != nil {
		h.t.Fatalf("spawn controller: %v", err)
	}
	h.t.Cleanup(func() { _ = h.system.Root.StopFuture(pid).Wait() })
	return pid
}

func admit(h *harness, pid *actor.PID, id actors.MeetingID) string {
	h.t.Helper()
	return request[*actors.Admission](h, pid, &actors.Admit{MeetingID: id}).Reject
}

func TestController_AdmitRejections(t *testing.T) {
	h := newHarness(t)
	mc := newController(h, actors.ControllerConfig{MaxMeetings: 2, AdmissionThreshold: 0.85})

	if got := admit(h, mc, "a"); got != actors.RejectUnhealthy {
		t.Fatalf("Admit before SetReady: got %q, want %q", got, actors.RejectUnhealthy)
	}
	h.system.Root.Send(mc, &actors.SetReady{Ready: true})
	if got := admit(h, mc, "a"); got != "" {
		t.Fatalf("first Admit: got %q, want admitted", got)
	}
	if got := admit(h, mc, "b"); got != actors.RejectAtCapacity {
		t.Fatalf("second Admit with 2 meetings at 0.85: got %q, want %q", got, actors.RejectAtCapacity)
	}
	h.system.Root.Send(mc, &actors.Release{MeetingID: "a"})
	if got := admit(h, mc, "b"); got != "" {
		t.Fatalf("Admit after Release: got %q, want admitted", got)
	}

	h.system.Root.Send(mc, &actors.SetDraining{Draining: true})
	if got := admit(h, mc, "c"); got != actors.RejectDraining {
		t.Fatalf("Admit while draining: got %q, want %q", got, actors.RejectDraining)
	}
	status := request[*actors.NodeStatus](h, mc, &actors.GetStatus{})
	if !status.Ready || !status.Draining || status.MaxMeetings != 2 {
		t.Fatalf("status: got %+v, want ready, draining, max 2 meetings", status)
	}
}

func TestController_AtCapacityAfterMeetingReport(t *testing.T) {
	h := newHarness(t)
	mc := newController(h, actors.ControllerConfig{MaxMeetings: 2, AdmissionThreshold: 0.85})
	h.system.Root.Send(mc, &actors.SetReady{Ready: true})
	pid := h.system.Root.Spawn(actor.PropsFromFunc(func(actor.Context) {}))
	t.Cleanup(func() { h.system.Root.Stop(pid) })

	h.system.Root.Send(mc, &actors.MeetingReport{MeetingID: "m1", PID: pid, Generation: 1, Participants: 3, Connected: 2})
	status := request[*actors.NodeStatus](h, mc, &actors.GetStatus{})
	if status.Meetings != 1 || status.Participants != 3 || status.Connected != 2 {
		t.Fatalf("status after a report: got %+v, want 1 meeting, 3 participants, 2 connected", status)
	}
	if got := admit(h, mc, "m2"); got != actors.RejectAtCapacity {
		t.Fatalf("Admit with one of 2 meetings at 0.85: got %q, want %q", got, actors.RejectAtCapacity)
	}
	// A meeting already hosted is admitted again: its assignment is idempotent.
	if got := admit(h, mc, "m1"); got != "" {
		t.Fatalf("Admit of a hosted meeting: got %q, want admitted", got)
	}

	h.system.Root.Stop(pid)
	eventually(t, func() (bool, string) {
		got := request[*actors.NodeStatus](h, mc, &actors.GetStatus{}).Meetings
		return got == 0, fmt.Sprintf("got %d meetings after the meeting actor stopped, want 0", got)
	})
}

func TestController_ListMeetingsPages(t *testing.T) {
	h := newHarness(t)
	ids := []string{"m1", "m2", "m3", "m4", "m5"}
	pids := make(map[string]*actor.PID)
	for _, id := range ids {
		pids[id] = h.startMeeting(id)
	}
	eventually(t, func() (bool, string) {
		got := request[*actors.NodeStatus](h, h.controller, &actors.GetStatus{}).Meetings
		return got == len(ids), fmt.Sprintf("got %d registered meetings, want %d", got, len(ids))
	})

	tests := []struct {
		after    actors.MeetingID
		limit    int
		want     []actors.MeetingID
		wantMore bool
	}{
		{"", 2, []actors.MeetingID{"m1", "m2"}, true},
		{"m2", 2, []actors.MeetingID{"m3", "m4"}, true},
		{"m4", 2, []actors.MeetingID{"m5"}, false},
		{"m5", 2, nil, false},
		{"", 0, []actors.MeetingID{"m1", "m2", "m3", "m4", "m5"}, false},
		{"m3", 0, []actors.MeetingID{"m4", "m5"}, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("after %q limit %d", tt.after, tt.limit), func(t *testing.T) {
			page := request[*actors.MeetingPage](h, h.controller, &actors.ListMeetings{After: tt.after, Limit: tt.limit})
			var got []actors.MeetingID
			for _, r := range page.Meetings {
				got = append(got, r.MeetingID)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) || page.More != tt.wantMore {
				t.Fatalf("page: got %v more=%v, want %v more=%v", got, page.More, tt.want, tt.wantMore)
			}
		})
	}

	c := h.join(pids["m1"], "u1", jointoken.RoleHost)
	c.joinResponse()
	eventually(t, func() (bool, string) {
		page := request[*actors.MeetingPage](h, h.controller, &actors.ListMeetings{Limit: 1})
		if len(page.Meetings) != 1 {
			return false, fmt.Sprintf("got %d meetings, want 1", len(page.Meetings))
		}
		r := page.Meetings[0]
		return r.Participants == 1 && r.Connected == 1 && r.Generation == 1,
			fmt.Sprintf("m1 report: got %+v, want 1 participant, 1 connected, generation 1", r)
	})

	// A stopped meeting leaves the registry, even with a session attached.
	if err := h.system.Root.StopFuture(pids["m1"]).Wait(); err != nil {
		t.Fatalf("stop m1: %v", err)
	}
	if err := h.system.Root.StopFuture(pids["m3"]).Wait(); err != nil {
		t.Fatalf("stop m3: %v", err)
	}
	eventually(t, func() (bool, string) {
		page := request[*actors.MeetingPage](h, h.controller, &actors.ListMeetings{})
		var got []actors.MeetingID
		for _, r := range page.Meetings {
			got = append(got, r.MeetingID)
		}
		return fmt.Sprint(got) == "[m2 m4 m5]", fmt.Sprintf("registry: got %v, want [m2 m4 m5]", got)
	})
}
