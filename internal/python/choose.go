package python

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Choice is the wheel taken for a target among a distribution's wheels, and
// why each other was refused.
type Choice struct {
	File    string   // the wheel taken, "" when none runs on the target
	Tag     Tag      // its best tag for the target
	Refused []string // "file: reason", one per wheel not taken
}

// ChooseWheel picks the wheel whose best tag is the most specific the
// interpreter accepts (pip's and uv's rule), among file names.
func (in Interpreter) ChooseWheel(files []string) Choice {
	type cand struct {
		file string
		rank int
		tag  Tag
	}
	var ok []cand
	var c Choice
	for _, f := range files {
		w, err := ParseWheelName(f)
		if err != nil {
			c.Refused = append(c.Refused, fmt.Sprintf("%s: %v", f, err))
			continue
		}
		rank, fits := in.Supports(w.Tags)
		if !fits {
			c.Refused = append(c.Refused, f+": "+in.whyNot(w.Tags))
			continue
		}
		ok = append(ok, cand{f, rank, in.Tags[rank]})
	}
	sort.SliceStable(ok, func(i, j int) bool { return ok[i].rank < ok[j].rank })
	if len(ok) > 0 {
		c.File, c.Tag = ok[0].file, ok[0].tag
		for _, o := range ok[1:] {
			c.Refused = append(c.Refused, fmt.Sprintf("%s: runs here, but %s is more specific than its %s", o.file, c.Tag, o.tag))
		}
	}
	return c
}

// whyNot says why none of a wheel's tags fits the interpreter.
func (in Interpreter) whyNot(tags []Tag) string {
	pys, abis, plats := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, t := range in.Tags {
		pys[t.Python], abis[t.ABI], plats[t.Platform] = true, true, true
	}
	t := tags[0]
	for _, x := range tags {
		if plats[x.Platform] {
			t = x
		}
	}
	switch {
	case !plats[t.Platform]:
		return fmt.Sprintf("platform %s does not run on this target (%s, %s)", t.Platform, in.Markers["platform_machine"], in.libcName()) + in.glibcHint(t.Platform)
	case !pys[t.Python]:
		return fmt.Sprintf("built for %s, the target is %s %s", t.Python, in.Implementation, in.Version)
	case !abis[t.ABI]:
		return fmt.Sprintf("ABI %s, the target's are %s", t.ABI, strings.Join(keys(abis), ", "))
	}
	return fmt.Sprintf("its tags (%s) are not among the target's", t)
}

func (in Interpreter) libcName() string {
	if in.Libc != "" {
		return in.Libc
	}
	return "C library unknown"
}

// glibcHint names the glibc a manylinux wheel needs when it is newer than the
// target's.
func (in Interpreter) glibcHint(plat string) string {
	rest, ok := strings.CutPrefix(plat, "manylinux_")
	if !ok {
		if strings.HasPrefix(plat, "musllinux_") && strings.HasPrefix(in.Libc, "glibc") {
			return "; musllinux wheels need musl, the target has glibc"
		}
		return ""
	}
	p := strings.SplitN(rest, "_", 3)
	if len(p) < 3 {
		return ""
	}
	major, err1 := strconv.Atoi(p[0])
	minor, err2 := strconv.Atoi(p[1])
	if err1 != nil || err2 != nil {
		return ""
	}
	return fmt.Sprintf("; it needs glibc %d.%d or later", major, minor)
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
