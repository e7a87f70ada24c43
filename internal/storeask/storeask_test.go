package storeask

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/storetype"
)

// TestServeAnswersOrSaysWhy: a request of this build is answered with the
// releases or the store's error; a request that is none, or of another
// build, gets an answer that says so, and the store is not asked.
func TestServeAnswersOrSaysWhy(t *testing.T) {
	req := func(build string) string {
		b, _ := json.Marshal(request{Protocol: protocol, Build: build, Store: config.StoreConfig{Name: "idx", Type: "pypi-dir"}, Dir: "/p", Package: "hello"})
		return string(b)
	}
	for _, tc := range []struct {
		name, in string
		storeErr error
		want     answer
	}{
		{"answered", req("v1"), nil, answer{Releases: []storetype.Release{{Name: "hello", Version: "1.0"}}}},
		{"store error", req("v1"), errors.New("index refused"), answer{Error: "index refused"}},
		{"another build", req("v0"), nil, answer{Error: "gopythongo-publish is another build (v1) than the gopythongo-version that asks (v0): install the step binaries of one release together"}},
		{"no request", "hello", nil, answer{Error: "--ask-store reads a request of gopythongo-version on its stdin: invalid character 'h' looking for beginning of value"}},
		{"unknown field", `{"Protocol":1,"Build":"v1","Secret":"x"}`, nil, answer{Error: `--ask-store reads a request of gopythongo-version on its stdin: json: unknown field "Secret"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			asked := false
			var out bytes.Buffer
			err := Serve(context.Background(), bytes.NewReader([]byte(tc.in)), &out, "v1", func(_ context.Context, sc config.StoreConfig, dir, pkg string) ([]storetype.Release, error) {
				asked = true
				assert.Equal(t, "idx", sc.Name)
				assert.Equal(t, "/p", dir)
				if tc.storeErr != nil {
					return nil, tc.storeErr
				}
				return []storetype.Release{{Name: pkg, Version: "1.0"}}, nil
			})
			require.NoError(t, err)
			var got answer
			require.NoError(t, json.Unmarshal(out.Bytes(), &got))
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.want.Error == "" || tc.storeErr != nil, asked)
		})
	}
}

// TestProcessNamesAMissingHelper: without gopythongo-publish beside the
// binary or on PATH, the question fails with what to install.
func TestProcessNamesAMissingHelper(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Process("v1", os.Stdout, os.Stderr)(context.Background(), config.StoreConfig{Name: "idx"}, t.TempDir(), "hello")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "install the five step binaries together")
}

// TestProcessRefusesWhatIsNoAnswer: a helper that dies without answering,
// answers garbage or more than the bound fails the question with why, and
// is not waited on for ever.
func TestProcessRefusesWhatIsNoAnswer(t *testing.T) {
	for _, tc := range []struct{ name, script, want string }{
		{"dies", "echo broken >&2; exit 3", "exit status 3 (its messages are above)"},
		{"garbage", "cat >/dev/null; echo 'hello' >&3", "not an answer of this GoPythonGo"},
		{"too much", "cat >/dev/null; head -c 70000000 /dev/zero >&3; sleep 30", "the answer is over 64 MiB"},
		{"store error", `cat >/dev/null; echo '{"Error":"index refused"}' >&3`, "index refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, Helper), []byte("#!/bin/sh\n"+tc.script+"\n"), 0o755))
			t.Setenv("PATH", dir+":/usr/bin:/bin")
			start := time.Now()
			_, err := Process("v1", io.Discard, io.Discard)(context.Background(), config.StoreConfig{Name: "idx"}, t.TempDir(), "hello")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Less(t, time.Since(start), 20*time.Second, "not waited on for ever")
		})
	}
}
