package venv

import (
	"fmt"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestPipProgressCountsDistributions: pip's lines, in any chunks, become
// the count of distributions for the running phase's line.
func TestPipProgressCountsDistributions(t *testing.T) {
	var got []string
	p := &pipProgress{report: func(format string, args ...any) { got = append(got, fmt.Sprintf(format, args...)) }}
	out := "Looking in links: /w\nCollecting hello\n  Processing ./hello-1.0.whl\nCollecting hello-lib>=1.0 (from hello)\n  Saved ./x.whl\nProcessing /w/numpy-2.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl and then some more\n"
	for i := 0; i < len(out); i += 7 { // pip writes in pieces
		io.WriteString(p, out[i:min(i+7, len(out))])
	}
	assert.Equal(t, []string{
		"1 distribution(s) so far, collecting hello",
		"2 distribution(s) so far, processing ./hello-1.0.whl",
		"3 distribution(s) so far, collecting hello-lib>=1.0 (from hello)",
		"4 distribution(s) so far, processing /w/numpy-2.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014…",
	}, got)
}
