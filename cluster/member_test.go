package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	protocluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/test"
)

type echoGrain struct{}

func (echoGrain) Receive(c actor.Context) {
	if text, ok := c.Message().(string); ok {
		c.Respond("echo " + text)
	}
}

func TestMember_StartRequestStop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	kind := protocluster.NewKind("echo", actor.PropsFromProducer(func() actor.Actor { return echoGrain{} }))
	m, err := Start(ctx, Config{Name: "t", Addr: "127.0.0.1:0", Kinds: []*protocluster.Kind{kind}, Agent: test.NewInMemAgent()})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	reply, err := m.Cluster.Request("a", "echo", "hi")
	if err != nil {
		t.Fatalf("grain request: %v", err)
	}
	if reply != "echo hi" {
		t.Fatalf("grain reply: got %v, want %q", reply, "echo hi")
	}
	if !m.IsLocal(m.Cluster.Get("a", "echo")) {
		t.Fatal("the only member's grain is not local")
	}
	if err := m.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
}

func TestMember_RejectsUnknownProvider(t *testing.T) {
	_, err := Start(context.Background(), Config{Name: "t", Provider: "zookeeper", Addr: "127.0.0.1:0"})
	if err == nil {
		t.Fatal("Start with an unknown provider succeeded")
	}
}

func TestMember_RejectsBusyAddress(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	first, err := Start(ctx, Config{Name: "t", Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = first.Stop(context.Background()) })

	if _, err := Start(ctx, Config{Name: "t", Addr: first.Address()}); err == nil {
		t.Fatalf("second member on the busy address %s started", first.Address())
	}
}
