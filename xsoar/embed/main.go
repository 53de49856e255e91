// Command embed generates what Cortex XSOAR installs from the repository's
// single sources: it embeds xsoar/bridge.py (script.script), the Help tab
// xsoar/description.md (detaileddescription), the logo drawn by
// xsoar/logo (image), the docker image name, the incoming mapper's name
// (defaultmapperin) and the test playbook (tests) into integration.yml,
// editing only those values so the rest of the file keeps its formatting,
// and writes the content pack Packs/MicrosoftManagementActivityGo from them.
// Run it from anywhere in the module:
//
//	go run ./xsoar/embed                                  # rewrite integration.yml and the pack
//	go run ./xsoar/embed -image registry.example.com/secops/ms-management-activity:1.0.1
//	go run ./xsoar/embed -check                           # exit 1 when something is out of date
//	go run ./xsoar/embed -zip msma-pack.zip               # also write the pack as a zip for Upload pack
package main

import (
	"archive/zip"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// DockerImage is the image integration.yml names by default, in the
// repository/image:tag form XSOAR and demisto-sdk expect. It is not
// published: build it from the Dockerfile and push it under this name, or
// regenerate with -image (xsoar/README.md).
const DockerImage = "ghcr.io/secops-go/ms-management-activity:1.0.0"

func main() {
	check := flag.Bool("check", false, "do not write; exit 1 when integration.yml or the pack is not up to date")
	image := flag.String("image", "", "value of script.dockerimage (repository/image:tag); default: keep the current one, or "+DockerImage)
	zipPath := flag.String("zip", "", "also write the pack as a zip file for Settings → Upload pack")
	flag.Parse()
	if err := run(*check, *image, *zipPath); err != nil {
		fmt.Fprintln(os.Stderr, "embed:", err)
		os.Exit(1)
	}
}

func run(check bool, image, zipPath string) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	files, err := Generate(root, image)
	if err != nil {
		return err
	}
	stale, extra, err := Compare(root, files)
	if err != nil {
		return err
	}
	if check {
		if len(stale)+len(extra) > 0 {
			return fmt.Errorf("out of date: %s; run: go run ./xsoar/embed", strings.Join(append(stale, extra...), ", "))
		}
		return nil
	}
	for _, p := range stale {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, files[p], 0o644); err != nil {
			return err
		}
	}
	for _, p := range extra {
		if err := os.Remove(filepath.Join(root, p)); err != nil {
			return err
		}
	}
	if zipPath != "" {
		return writeZip(zipPath, files)
	}
	return nil
}

// Compare returns the generated files whose content on disk differs (or
// that are missing), and the files in the pack folder that the generator
// does not produce.
func Compare(root string, files map[string][]byte) (stale, extra []string, err error) {
	for p, want := range files {
		got, err := os.ReadFile(filepath.Join(root, p))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, err
		}
		if !bytes.Equal(got, want) || err != nil {
			stale = append(stale, p)
		}
	}
	packDir := filepath.Join(root, "Packs", PackName)
	err = filepath.WalkDir(packDir, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		if _, ok := files[filepath.ToSlash(rel)]; !ok {
			extra = append(extra, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(stale)
	sort.Strings(extra)
	return stale, extra, err
}

// packTime stamps the zip's entries: the release date of PackVersion.
var packTime = time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)

// writeZip writes the pack's files with the pack folder as the zip's root,
// plus metadata.json (the name the server reads in an uploaded pack).
func writeZip(path string, files map[string][]byte) error {
	prefix := "Packs/" + PackName + "/"
	var names []string
	for p := range files {
		if strings.HasPrefix(p, prefix) {
			names = append(names, strings.TrimPrefix(p, prefix))
		}
	}
	sort.Strings(names)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, data []byte) error {
		// A fixed time, so the same pack makes the same zip.
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: packTime})
		if err == nil {
			_, err = w.Write(data)
		}
		return err
	}
	for _, n := range names {
		if err := add(n, files[prefix+n]); err != nil {
			return err
		}
	}
	if err := add("metadata.json", files[prefix+"pack_metadata.json"]); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// moduleRoot walks up from the working directory to the folder holding go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory; run from inside the module")
		}
		dir = parent
	}
}
