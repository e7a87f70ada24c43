// Command version benchmarks a whole gopythongo-version run against
// `git describe --tags` on the same commits of a synthetic Git Flow repository,
// and prints the ratio (ours / git describe) for each case and size.
//
//	go run ./bench/version -sizes 50000,100000
//
// The repository has, per 20 commits, a cycle of develop work, a release or
// hotfix branch merged into main (a tagged merge commit) and back into develop:
// 100,000 commits give 5,000 tags; the last 100 release and hotfix branches are
// kept. A separate line of commits without tags but at its root is the worst
// case, where both tools walk the whole history.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gopythongo/gopythongo/bench/benchutil"
)

func main() {
	sizes := flag.String("sizes", "50000,100000", "commit counts of the repositories to generate")
	runs := flag.Int("runs", 31, "rounds per case, each running ours and git describe once; the median of the rounds' ratios counts")
	bin := flag.String("bin", "bin/gopythongo-version", "the gopythongo-version binary")
	keep := flag.String("dir", "", "generate the repositories here and keep them (default: a temporary directory)")
	flag.Parse()
	ours, err := filepath.Abs(*bin)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := os.Stat(ours); err != nil {
		log.Fatalf("%v: build it first (make build)", err)
	}
	base := *keep
	if base == "" {
		base, err = os.MkdirTemp("", "gpg-bench-version-")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(base)
	}
	fmt.Printf("%-9s %-28s %10s %10s  %s\n", "commits", "case", "ours", "describe", "ratio (min-max of the rounds)")
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1000 {
			log.Fatalf("bad size %q", s)
		}
		dir := filepath.Join(base, fmt.Sprintf("repo-%d", n))
		if _, err := os.Stat(dir); err != nil {
			start := time.Now()
			if err := generate(dir, n); err != nil {
				log.Fatal(err)
			}
			log.Printf("generated %d commits in %s", n, time.Since(start).Round(time.Millisecond))
		}
		for _, c := range cases(dir) {
			git(dir, "checkout", "-q", "--detach", c.rev)
			mustRun(dir, ours, c.args...) // warm the page cache
			runDescribe(dir)
			r := benchutil.Alternate(*runs,
				benchutil.Case{Run: func() { mustRun(dir, ours, c.args...) }},
				benchutil.Case{Run: func() { runDescribe(dir) }})
			fmt.Printf("%-9d %-28s %10s %10s  %s\n", n, c.name, r[0].Median().Round(time.Millisecond/10), r[1].Median().Round(time.Millisecond/10), r[0].Ratio(r[1]))
		}
	}
	fmt.Printf("targets: at most 1.5x near a tag, 2x in the worst case (load %s)\n", benchutil.Load())
}

type benchCase struct {
	name string
	rev  string
	args []string
}

// openRelease is the release branch the benchmark versions: the kept ones
// are finished, and a build of a released version is refused.
const openRelease = "release/99999.0.0"

func cases(dir string) []benchCase {
	if strings.TrimSpace(git(dir, "branch", "--list", openRelease)) == "" {
		git(dir, "checkout", "-q", "-b", openRelease, "develop")
		git(dir, "-c", "user.name=bench", "-c", "user.email=bench@example.com", "commit", "-q", "--allow-empty", "-m", "start "+openRelease)
	}
	return []benchCase{
		{"tag on HEAD (main)", "main", []string{"--branch", "main"}},
		{"develop, near a tag", "develop", []string{"--branch", "develop"}},
		{"release branch", openRelease, []string{"--branch", openRelease}},
		{"worst: no tag in reach", "legacy", []string{"--branch", "develop"}},
	}
}

// runDescribe runs git describe as mustRun runs ours: its output read
// through the same pipe.
func runDescribe(dir string) {
	cmd := exec.Command("git", "describe", "--tags")
	cmd.Dir = dir
	_, _ = cmd.CombinedOutput() // "No names found" in the worst case is an answer too
}

func mustRun(dir, bin string, args ...string) {
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOPYTHONGO_PROJECT_DIST="+filepath.Join(dir, ".git", "gpg-dist"))
	if out, err := cmd.CombinedOutput(); err != nil {
		log.Fatalf("%s %v: %v\n%s", bin, args, err, out)
	}
}

func git(dir string, args ...string) string {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		log.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// generate writes the repository with git fast-import.
func generate(dir string, commits int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	git(dir, "init", "-q", "-b", "main")
	cmd := exec.Command("git", "fast-import", "--quiet")
	cmd.Dir = dir
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	w := bufio.NewWriterSize(in, 1<<20)
	g := &gen{w: w, when: 1600000000}
	g.stream(commits)
	if err := w.Flush(); err != nil {
		return err
	}
	in.Close()
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("fast-import: %w", err)
	}
	git(dir, "update-ref", "-d", "refs/heads/scratch")
	git(dir, "pack-refs", "--all")
	git(dir, "checkout", "-q", "develop")
	return os.WriteFile(filepath.Join(dir, ".git", "info", "exclude"), []byte("dist/\n"), 0o644)
}

type gen struct {
	w    io.Writer
	mark int
	when int64
}

// commit writes a commit on ref with the given parents and returns its mark.
func (g *gen) commit(ref, msg string, parents ...int) int {
	g.mark++
	g.when += 60
	fmt.Fprintf(g.w, "commit %s\nmark :%d\ncommitter Bench <bench@example.com> %d +0000\ndata %d\n%s\n", ref, g.mark, g.when, len(msg), msg)
	for i, p := range parents {
		if i == 0 {
			fmt.Fprintf(g.w, "from :%d\n", p)
		} else {
			fmt.Fprintf(g.w, "merge :%d\n", p)
		}
	}
	content := fmt.Sprintf("%s %d\n", ref, g.mark)
	fmt.Fprintf(g.w, "M 100644 inline state.txt\ndata %d\n%s\n", len(content), content)
	return g.mark
}

func (g *gen) tag(name string, mark int) {
	fmt.Fprintf(g.w, "tag %s\nfrom :%d\ntagger Bench <bench@example.com> %d +0000\ndata %d\n%s\n", name, mark, g.when, len(name), name)
}

func (g *gen) stream(commits int) {
	root := g.commit("refs/heads/main", "root")
	g.tag("v0.0.1", root)
	// The worst case: a long line without tags, rooted at the tagged root.
	legacy := root
	for i := 0; i < commits/2; i++ {
		legacy = g.commit("refs/heads/legacy", "legacy work", legacy)
	}
	main, dev := root, root
	cycles := commits / 20
	for i := 0; i < cycles; i++ {
		for j := 0; j < 16; j++ {
			dev = g.commit("refs/heads/develop", "work", dev)
		}
		kind, ver := "release", fmt.Sprintf("%d.%d.0", 1+i/100, i%100)
		if i%5 == 4 {
			kind = "hotfix"
			ver = fmt.Sprintf("%d.%d.1", 1+i/100, i%100)
		}
		branch := fmt.Sprintf("refs/heads/%s/%s", kind, ver)
		if cycles-i > 100 {
			branch = "refs/heads/scratch" // only the last 100 branches are kept
		}
		from := dev
		if kind == "hotfix" {
			from = main
		}
		b := g.commit(branch, "stabilize", from)
		b = g.commit(branch, "bump", b)
		main = g.commit("refs/heads/main", "Merge "+branch, main, b)
		g.tag("v"+ver, main)
		dev = g.commit("refs/heads/develop", "Merge back "+branch, dev, b)
	}
	for j := 0; j < 3; j++ {
		dev = g.commit("refs/heads/develop", "after the release", dev)
	}
}
