package clock

import (
	"testing"
	"time"
)

func TestFake_AdvanceRunsDueTimersInOrder(t *testing.T) {
	c := NewFake(time.Unix(1000, 0))
	var order []int
	c.AfterFunc(2*time.Second, func() { order = append(order, 2) })
	c.AfterFunc(time.Second, func() { order = append(order, 1) })
	c.AfterFunc(5*time.Second, func() { order = append(order, 5) })

	c.Advance(3 * time.Second)
	if len(order) != 2 || order[0] != 1 || order[1] != 2 {
		t.Fatalf("fired %v after 3 s, want [1 2]", order)
	}
	if got := c.Pending(); got != 1 {
		t.Fatalf("pending timers: got %d, want 1", got)
	}
}

func TestFake_StopPreventsCall(t *testing.T) {
	c := NewFake(time.Unix(0, 0))
	fired := false
	timer := c.AfterFunc(time.Second, func() { fired = true })
	if !timer.Stop() {
		t.Fatal("Stop on a pending timer returned false")
	}
	c.Advance(time.Minute)
	if fired {
		t.Fatal("a stopped timer fired")
	}
	if timer.Stop() {
		t.Fatal("second Stop returned true")
	}
}
