package venv

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFromSymbols(t *testing.T) {
	data, err := os.ReadFile("testdata/sample.symbols")
	require.NoError(t, err)
	lines := strings.Split(string(data), "\n")
	tests := []struct {
		name, soname           string
		versioned, unversioned []string
		want                   string
		ok                     bool
	}{
		{"highest version used", "libc.so.6", []string{"__cxa_finalize@GLIBC_2.2.5", "__stack_chk_fail@GLIBC_2.4"}, nil, "libc6 (>= 2.4)", true},
		{"numeric order, not text", "libc.so.6", []string{"memcpy@GLIBC_2.14", "__stack_chk_fail@GLIBC_2.4"}, nil, "libc6 (>= 2.14)", true},
		{"version 0 is no minimum", "libc.so.6", []string{"GLIBC_PRIVATE@GLIBC_PRIVATE"}, nil, "libc6", true},
		{"unversioned match @Base", "libz.so.1", nil, []string{"crc32", "printf"}, "zlib1g (>= 1:1.1.4)", true},
		{"epochs compare first", "libz.so.1", nil, []string{"crc32", "deflateBound"}, "zlib1g (>= 1:1.2.0)", true},
		{"tags and tildes", "libfoo.so.2", nil, []string{"foo::bar()", "baz"}, "libfoo2 (>= 2.1+dfsg-1), foo-data", true},
		{"epoch beats a higher upstream", "libfoo.so.2", nil, []string{"qux", "baz"}, "libfoo2 (>= 1:0.9), foo-data", true},
		{"no symbol used", "libz.so.1", nil, nil, "zlib1g", true},
		{"library not in the file", "libpq.so.5", nil, []string{"PQconnectdb"}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := fromSymbols(lines, tt.soname, tt.versioned, tt.unversioned)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestFromShlibs(t *testing.T) {
	lines := []string{"libpq 5 libpq5 (>= 15~beta1)", "udeb: libpq 5 libpq5-udeb", "libssl 3 libssl3 (>= 3.0.9)"}
	assert.Equal(t, "libpq5 (>= 15~beta1)", fromShlibs(lines, "libpq.so.5", "libpq5"))
	assert.Equal(t, "libssl3 (>= 3.0.9)", fromShlibs(lines, "libssl.so.3", "libssl3"))
	assert.Equal(t, "libfoo1", fromShlibs(lines, "libfoo.so.1", "libfoo1"), "no line: the bare package")
	assert.Equal(t, "libbar", fromShlibs(lines, "libbar.so", "libbar"), "no version in the soname")
}
