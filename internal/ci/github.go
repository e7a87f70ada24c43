package ci

import (
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
)

// workflow writes GitHub's workflow commands and environment files as
// actions/toolkit does (command.ts, file-command.ts). It replaces
// go-githubactions, whose OIDC client linked net/http, crypto/tls and
// html/template into every step: 1.5 MB and 0.28 ms of a version run at a
// tag (bench/version), which the step's target could not spare.
type workflow struct {
	w      io.Writer // where the runner reads commands: the step's log
	getenv func(string) string
}

// command writes ::name k=v,…::message, properties sorted and escaped.
func (c workflow) command(name string, props map[string]string, message string) error {
	var b strings.Builder
	b.WriteString("::" + name)
	if len(props) > 0 {
		b.WriteByte(' ')
		for i, k := range slices.Sorted(maps.Keys(props)) {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(k + "=" + escapeCommandProperty(props[k]))
		}
	}
	b.WriteString("::" + escapeData(message) + "\n")
	_, err := io.WriteString(c.w, b.String())
	return err
}

// setValue appends name=value to the environment file named by variable
// (GITHUB_OUTPUT, GITHUB_ENV) with a random delimiter, which neither may
// contain: a value cannot end the block early and set another name.
func (c workflow) setValue(variable, name, value string) error {
	delim := fmt.Sprintf("ghadelimiter_%016x%016x", rand.Uint64(), rand.Uint64())
	if strings.Contains(name, delim) || strings.Contains(value, delim) {
		return fmt.Errorf("%s: %s holds the delimiter %s", variable, name, delim)
	}
	return c.appendFile(variable, name+"<<"+delim+"\n"+value+"\n"+delim+"\n")
}

// appendFile appends text to the file an environment variable names.
func (c workflow) appendFile(variable, text string) error {
	f, err := os.OpenFile(c.getenv(variable), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("%s: %w", variable, err)
	}
	_, err = f.WriteString(text)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", variable, err)
	}
	return nil
}

func escapeData(v string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(v)
}

func escapeCommandProperty(v string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(v)
}
