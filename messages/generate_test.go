package messages_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGeneratedCode_Current regenerates the Go code from proto/ with the
// pinned local plugins and fails when the committed code differs, so that
// nobody edits generated files by hand or forgets `make generate`.
func TestGeneratedCode_Current(t *testing.T) {
	if testing.Short() {
		t.Skip("builds buf and the protoc plugins")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()

	run(t, root, "go", "tool", "-modfile=tools/go.mod", "buf", "lint")
	run(t, root, "go", "tool", "-modfile=tools/go.mod", "buf", "generate", "--output", out)

	generated := map[string]bool{}
	err = filepath.WalkDir(filepath.Join(out, "messages"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(out, path)
		generated[rel] = true
		want, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		got, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Errorf("%s: missing from the repository; run make generate", rel)
			return nil
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: differs from the code generated from proto/; run make generate", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	committed, _ := filepath.Glob(filepath.Join(root, "messages", "*", "*.pb.go"))
	for _, path := range committed {
		rel, _ := filepath.Rel(root, path)
		if !generated[rel] {
			t.Errorf("%s: no longer generated from proto/; delete it", rel)
		}
	}
}

func run(t *testing.T, dir string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}
