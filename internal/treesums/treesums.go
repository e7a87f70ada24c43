// Package treesums hands the md5 sum of every file of a finished venv from
// gopythongo-build-venv, which knows them (it hashed each file as it wrote,
// restored or checked it, or keeps them in its tree cache), to
// gopythongo-package, whose md5sums would otherwise read the whole tree
// once more before compressing it.
//
// A sum is taken only for a file whose stamp (device, inode, size, mode
// and change time) is what the build recorded: any write, truncation,
// chmod, rename over or link changes the change time, which no program
// can set. A file changed in the same tick of the clock as the record was
// written could keep its stamp (git's racy files), so a stamp is trusted
// only when the file's change time is before the record's own time on the
// same file system (two seconds before on another).
package treesums

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gopythongo/gopythongo/internal/fileread"
	"github.com/gopythongo/gopythongo/internal/state"
)

// header starts every record; a record of another format is not read.
const header = "gopythongo treesums 1\x00"

// maxRecord bounds the record read: about 120 bytes a file.
const maxRecord = 256 << 20

// otherDevice is how much older than the record a file on another file
// system than the record's must be: the coarsest time stamps (FAT) are two
// seconds apart.
const otherDevice = 2 * time.Second

// fields is how many fields a file has in the record.
const fields = 7

// PathFor is the record of the tree at root: beside it, so that a tree
// carried elsewhere without it is hashed.
func PathFor(root string) string { return root + ".md5sums" }

// Stamp is what a file's inode says of it.
type Stamp struct {
	Dev, Ino, Size, Mode uint64
	Ctime                int64 // ns
}

// StampOf is the stamp of a stat.
func StampOf(st *unix.Stat_t) Stamp {
	return Stamp{Dev: st.Dev, Ino: st.Ino, Size: uint64(st.Size), Mode: uint64(st.Mode), Ctime: st.Ctim.Nano()}
}

// StampOfInfo is the stamp of a regular file's FileInfo from os.Lstat, as
// a walk has it; false for anything else.
func StampOfInfo(fi fs.FileInfo) (Stamp, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || !fi.Mode().IsRegular() {
		return Stamp{}, false
	}
	return Stamp{Dev: st.Dev, Ino: st.Ino, Size: uint64(st.Size), Mode: uint64(st.Mode), Ctime: st.Ctim.Nano()}, true
}

// File is one regular file of a tree: its slash path below the root, its
// md5 in hex and its stamp when the sum was known to be its content.
type File struct {
	Path  string
	MD5   string
	Stamp Stamp
}

// Write writes the record of files to path, under a temporary name first.
// It is written after the stamps were taken: its time is what they are
// held to.
func Write(path string, files []File) error {
	b := make([]byte, 0, len(header)+len(files)*128)
	b = append(b, header...)
	for _, f := range files {
		b = append(b, f.Path...)
		b = append(b, 0)
		b = append(b, f.MD5...)
		for _, n := range []uint64{f.Stamp.Dev, f.Stamp.Ino, f.Stamp.Size, f.Stamp.Mode} {
			b = append(b, 0)
			b = strconv.AppendUint(b, n, 10)
		}
		b = append(b, 0)
		b = strconv.AppendInt(b, f.Stamp.Ctime, 10)
		b = append(b, 0)
	}
	return state.WriteFileAtomic(path, b, 0o644)
}

// Remove removes the record of a tree about to change.
func Remove(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	return nil
}

// Sums is a record, read.
type Sums struct {
	files map[string]File
	dev   uint64 // the record's file system
	at    int64  // the record's modification time, ns
}

// Read reads the record at path. A missing record is fs.ErrNotExist; a
// record that is not one (cut short, another format, a field that is no
// number or no md5) is an error saying so.
func Read(path string) (*Sums, error) {
	f, fi, err := fileread.Open(path, maxRecord)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := fileread.ReadOpen(f, fi.Size())
	if err != nil {
		return nil, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil, fmt.Errorf("%s: no stat", path)
	}
	body, ok := bytes.CutPrefix(data, []byte(header))
	if !ok {
		return nil, fmt.Errorf("%s is not a record of md5 sums of this version", path)
	}
	parts := bytes.Split(body, []byte{0})
	if len(parts)%fields != 1 || len(parts[len(parts)-1]) != 0 {
		return nil, fmt.Errorf("%s is cut short", path)
	}
	s := &Sums{files: make(map[string]File, len(parts)/fields), dev: st.Dev, at: st.Mtim.Nano()}
	for i := 0; i+fields <= len(parts); i += fields {
		p := parts[i : i+fields]
		file := File{Path: string(p[0]), MD5: string(p[1])}
		if b, err := hex.DecodeString(file.MD5); err != nil || len(b) != 16 {
			return nil, fmt.Errorf("%s: %q has no md5", path, file.Path)
		}
		var nums [4]uint64
		for k := range nums {
			if nums[k], err = strconv.ParseUint(string(p[2+k]), 10, 64); err != nil {
				return nil, fmt.Errorf("%s: %q has a stamp that is no number", path, file.Path)
			}
		}
		ctime, err := strconv.ParseInt(string(p[6]), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %q has a change time that is no number", path, file.Path)
		}
		file.Stamp = Stamp{Dev: nums[0], Ino: nums[1], Size: nums[2], Mode: nums[3], Ctime: ctime}
		s.files[file.Path] = file
	}
	return s, nil
}

// MD5 is the md5 of the file at rel whose stamp is st, when the record
// holds it for that stamp and the stamp is older than the record.
func (s *Sums) MD5(rel string, st Stamp) (string, bool) {
	if s == nil {
		return "", false
	}
	f, ok := s.files[rel]
	if !ok || f.Stamp != st {
		return "", false
	}
	before := s.at
	if st.Dev != s.dev {
		before -= int64(otherDevice)
	}
	if st.Ctime >= before {
		return "", false // racy: written in the record's tick
	}
	return f.MD5, true
}

// Len is how many files the record holds.
func (s *Sums) Len() int {
	if s == nil {
		return 0
	}
	return len(s.files)
}
