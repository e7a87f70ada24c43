package testutil

import "os"

// FixtureDir is where tests keep what is expensive to make (the Debian root,
// built wheels): dist/fixtures of this repository, which git ignores.
func FixtureDir() string { return RepoRoot() + "/dist/fixtures" }

// Environ returns the environment with these variables added.
func Environ(kv ...string) []string { return append(os.Environ(), kv...) }
