package python

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Installed distributions: the .dist-info directories of a site-packages
// directory (PEP 376), read by the same parsers as wheels.

// FindDistInfo finds the .dist-info directory of a distribution in a
// site-packages directory, "" when it is not installed there.
func FindDistInfo(site, name, version string) string {
	infos, _ := filepath.Glob(filepath.Join(site, "*.dist-info"))
	for _, info := range infos {
		n, v, _ := strings.Cut(strings.TrimSuffix(filepath.Base(info), ".dist-info"), "-")
		if Normalize(n) == Normalize(name) && v == version {
			return info
		}
	}
	return ""
}

// readInstalled reads a metadata file of a .dist-info directory, bounded.
func readInstalled(info, name string) ([]byte, error) {
	f, err := os.Open(filepath.Join(info, name))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxMetadataFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxMetadataFile {
		return nil, fmt.Errorf("%s/%s is larger than %d MiB", info, name, maxMetadataFile>>20)
	}
	return data, nil
}

// InstalledRecord reads the RECORD of an installed distribution.
func InstalledRecord(info string) ([]RecordEntry, error) {
	data, err := readInstalled(info, "RECORD")
	if err != nil {
		return nil, err
	}
	return ParseRecord(data)
}

// InstalledEntryPoints reads the scripts of an installed distribution's
// entry_points.txt; none when it has none.
func InstalledEntryPoints(info string) ([]EntryPoint, error) {
	data, err := readInstalled(info, "entry_points.txt")
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return ParseEntryPoints(data)
}

// InstalledMetadata reads the METADATA of an installed distribution.
func InstalledMetadata(info string) (Metadata, error) {
	data, err := readInstalled(info, "METADATA")
	if err != nil {
		return Metadata{}, err
	}
	return ParseMetadata(strings.NewReader(string(data)))
}
