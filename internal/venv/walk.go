package venv

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"runtime"
	"slices"
	"sync"

	"golang.org/x/sys/unix"
)

// walked is an entry of a tree as walkTree found it: no hash yet, and for a
// regular file its stamp.
type walked struct {
	Entry
	st stamp
}

// walkTree lists the tree at root in filepath.WalkDir's order (the root,
// then each directory's names sorted, each directory before its contents),
// with every entry's lstat and every link's target. Directories are read on
// every CPU, each name stat-ed through its directory's descriptor rather
// than by its whole path, and no link is followed: a directory that turns
// into a link under the walk is an error, not a way out of the tree.
func walkTree(root string) ([]walked, error) {
	var st unix.Stat_t
	if err := unix.Lstat(root, &st); err != nil {
		return nil, fmt.Errorf("stat %s: %w", root, err)
	}
	top := walked{Entry: Entry{Path: ".", Mode: fileMode(st.Mode), MTime: st.Mtim.Nano()}}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
	case unix.S_IFREG: // a tree of one file, as WalkDir sees it
		top.st = stampOfStat(&st)
		return []walked{top}, nil
	case unix.S_IFLNK:
		link, err := readlinkat(unix.AT_FDCWD, root)
		if err != nil {
			return nil, fmt.Errorf("read the link %s: %w", root, err)
		}
		top.Link, top.Size = link, int64(len(link))
		return []walked{top}, nil
	default:
		return []walked{top}, nil
	}
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", root, err)
	}
	w := &treeWalker{root: root, spare: make(chan struct{}, runtime.NumCPU()-1)}
	sub, err := w.dir(fd, "")
	if err != nil {
		return nil, err
	}
	return append([]walked{top}, sub...), nil
}

type treeWalker struct {
	root string
	// spare holds a token for each goroutine walking a directory besides
	// the first: a directory is walked by one of its own while one is free,
	// else by its parent's.
	spare chan struct{}
}

// dir lists the contents of the directory open at fd (rel below the root,
// "" for the root) and closes fd.
func (w *treeWalker) dir(fd int, rel string) ([]walked, error) {
	defer unix.Close(fd)
	names, err := readNames(fd)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path.Join(w.root, rel), err)
	}
	slices.Sort(names)
	type subdir struct {
		at      int // index in out of the directory's own entry
		entries []walked
		err     error
		done    chan struct{}
	}
	var subs []*subdir
	wait := func() {
		for _, s := range subs {
			<-s.done
		}
	}
	defer wait() // on an error too: no walk outlives its parent's
	out := make([]walked, 0, len(names))
	for _, name := range names {
		p := name
		if rel != "" {
			p = rel + "/" + name
		}
		var st unix.Stat_t
		if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return nil, fmt.Errorf("stat %s: %w", path.Join(w.root, p), err)
		}
		e := walked{Entry: Entry{Path: p, Mode: fileMode(st.Mode), MTime: st.Mtim.Nano()}}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			e.st = stampOfStat(&st)
		case unix.S_IFLNK:
			if e.Link, err = readlinkat(fd, name); err != nil {
				return nil, fmt.Errorf("read the link %s: %w", path.Join(w.root, p), err)
			}
			e.Size = int64(len(e.Link))
		case unix.S_IFDIR:
			sub, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err != nil {
				return nil, fmt.Errorf("open %s: %w", path.Join(w.root, p), err)
			}
			s := &subdir{at: len(out), done: make(chan struct{})}
			subs = append(subs, s)
			select {
			case w.spare <- struct{}{}:
				go func() {
					defer func() { <-w.spare }()
					defer close(s.done)
					s.entries, s.err = w.dir(sub, p)
				}()
			default:
				s.entries, s.err = w.dir(sub, p)
				close(s.done)
			}
		}
		out = append(out, e)
	}
	wait()
	if len(subs) == 0 {
		return out, nil
	}
	n := len(out)
	for _, s := range subs {
		if s.err != nil {
			return nil, s.err
		}
		n += len(s.entries)
	}
	all := make([]walked, 0, n)
	last := 0
	for _, s := range subs {
		all = append(all, out[last:s.at+1]...)
		all = append(all, s.entries...)
		last = s.at + 1
	}
	return append(all, out[last:]...), nil
}

// readNames reads a directory's names but "." and "..", unsorted.
func readNames(fd int) ([]string, error) {
	buf := make([]byte, 32<<10)
	var names []string
	for {
		n, err := unix.Getdents(fd, buf)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return names, nil
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
}

// readlinkat reads a link's target, however long.
func readlinkat(dirfd int, name string) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(dirfd, name, buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
}

// fileMode is the fs.FileMode of an lstat's mode, as os.Lstat gives it.
func fileMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	switch m & unix.S_IFMT {
	case unix.S_IFBLK:
		mode |= fs.ModeDevice
	case unix.S_IFCHR:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFDIR:
		mode |= fs.ModeDir
	case unix.S_IFIFO:
		mode |= fs.ModeNamedPipe
	case unix.S_IFLNK:
		mode |= fs.ModeSymlink
	case unix.S_IFSOCK:
		mode |= fs.ModeSocket
	}
	if m&unix.S_ISGID != 0 {
		mode |= fs.ModeSetgid
	}
	if m&unix.S_ISUID != 0 {
		mode |= fs.ModeSetuid
	}
	if m&unix.S_ISVTX != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

// aside runs f in a goroutine of its own; the function it returns waits for
// f's result (any number of times).
func aside[T any](f func() (T, error)) func() (T, error) {
	wait := sync.OnceValues(f)
	go wait()
	return wait
}
