// Package oracle asks the reference implementations how versions compare:
// Debian's python3-packaging (PEP 440) and dpkg. It imports nothing of this
// module, so that every package's tests can use it.
package oracle

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// The reference tools of versions.md. make test installs them (dpkg, python3-packaging).

// PEP440 asks Debian's python3-packaging, in one process, whether each
// string is canonical PEP 440 and how each pair compares.
func PEP440(t testing.TB, pairs [][2]string) (valid [][2]bool, cmp []int) {
	t.Helper()
	script := `
import sys
from packaging.version import Version, InvalidVersion
def canon(s):
    try:
        return str(Version(s)) == s
    except InvalidVersion:
        return False
for line in sys.stdin:
    a, b = line.split()
    va, vb = canon(a), canon(b)
    c = 0
    if va and vb:
        x, y = Version(a), Version(b)
        c = (x > y) - (x < y)
    print(int(va), int(vb), c)
`
	var in bytes.Buffer
	for _, p := range pairs {
		fmt.Fprintf(&in, "%s %s\n", p[0], p[1])
	}
	cmd := exec.Command("/usr/bin/python3", "-c", script)
	cmd.Stdin = &in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "python3-packaging oracle (make test installs python3-packaging): %s", stderr.String())
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		require.Len(t, f, 3)
		c, _ := strconv.Atoi(f[2])
		valid = append(valid, [2]bool{f[0] == "1", f[1] == "1"})
		cmp = append(cmp, c)
	}
	require.Len(t, cmp, len(pairs))
	return valid, cmp
}

// Dpkg compares each pair with dpkg --compare-versions. dpkg warns on
// stderr about any invalid version, so an empty stderr proves every string valid.
// Two shell loops share the work; a fork per comparison is what dpkg costs.
func Dpkg(t testing.TB, pairs [][2]string) []int {
	t.Helper()
	script := `while read a b; do
if dpkg --compare-versions "$a" lt "$b"; then echo -1
elif dpkg --compare-versions "$a" eq "$b"; then echo 0
else echo 1; fi
done`
	const workers = 2
	results := make([][]int, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	chunk := (len(pairs) + workers - 1) / workers
	for w := 0; w < workers; w++ {
		lo, hi := w*chunk, min((w+1)*chunk, len(pairs))
		wg.Add(1)
		go func() {
			defer wg.Done()
			var in bytes.Buffer
			for _, p := range pairs[lo:hi] {
				fmt.Fprintf(&in, "%s %s\n", p[0], p[1])
			}
			cmd := exec.Command("sh", "-c", script)
			cmd.Stdin = &in
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err == nil && stderr.Len() > 0 {
				err = fmt.Errorf("dpkg warned: %s", stderr.String())
			}
			errs[w] = err
			for _, f := range strings.Fields(string(out)) {
				c, _ := strconv.Atoi(f)
				results[w] = append(results[w], c)
			}
		}()
	}
	wg.Wait()
	var all []int
	for w := range results {
		require.NoError(t, errs[w])
		all = append(all, results[w]...)
	}
	require.Len(t, all, len(pairs))
	return all
}
