package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/gopythongo/gopythongo/internal/check"
	"github.com/gopythongo/gopythongo/internal/config"
)

// Check says whether a store could be published to: its credentials and
// signing key are there, and it answers what it holds of the package name
// (a read: nothing is written, no lock is taken on a directory).
func Check(ctx context.Context, sc config.StoreConfig, e Env, name string) []check.Finding {
	subject := "store " + sc.Name
	var fs []check.Finding
	for _, v := range []struct{ key, name string }{{"password_env", sc.PasswordEnv}, {"username_env", sc.UsernameEnv}, {"signing_key_env", sc.SigningKeyEnv}, {"signing_key_file_env", sc.SigningKeyFileEnv}, {"passphrase_env", sc.PassphraseEnv}} {
		if v.name != "" && e.Getenv != nil {
			fs = append(fs, check.Secret(subject+" "+v.key, v.name, e.Getenv))
		}
	}
	if check.Problems(fs) > 0 {
		return fs // New would stop at the first of them
	}
	s, err := New(sc, e)
	if err != nil {
		return append(fs, check.Bad(subject, err))
	}
	if sc.Path != "" {
		if _, err := os.Stat(e.Config.Path(sc.Path)); errors.Is(err, os.ErrNotExist) {
			return append(fs, check.Notef(subject, "%s: %s does not exist yet and is made by the first publish", sc.Type, sc.Path))
		}
	}
	have, err := s.Existing(ctx, name)
	if err != nil {
		return append(fs, check.Badf(subject, "%s: asked what it holds of %s: %v", sc.Type, name, err))
	}
	return append(fs, check.Good(subject, "%s: answers; holds %s", sc.Type, Holdings(have)))
}

// Holdings says briefly what a store holds of a package: how many releases,
// and the last few versions.
func Holdings(have []Release) string {
	if len(have) == 0 {
		return "nothing of this package"
	}
	var vs []string
	for _, r := range have {
		v := r.Version
		if r.Arch != "" {
			v += " " + r.Arch
		}
		if r.File != "" && r.Arch == "" {
			v = r.File
		}
		vs = append(vs, v)
	}
	more := ""
	if len(vs) > 5 {
		more = ", …"
		vs = vs[len(vs)-5:]
	}
	n := "releases"
	if len(have) == 1 {
		n = "release"
	}
	return fmt.Sprintf("%d %s (%s%s)", len(have), n, strings.Join(vs, ", "), more)
}
