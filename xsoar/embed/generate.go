package main

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/secops-go/ms-management-activity/xsoar/logo"
)

// imagePrefix starts the image: data URI.
const imagePrefix = "data:image/png;base64,"

// Generate returns every generated file, keyed by its slash-separated path
// from the module root: integration.yml and the pack's files.
func Generate(root, dockerImage string) (map[string][]byte, error) {
	read := func(p string) ([]byte, error) { return os.ReadFile(filepath.Join(root, filepath.FromSlash(p))) }
	yml, err := read("integration.yml")
	if err != nil {
		return nil, err
	}
	script, err := read("xsoar/bridge.py")
	if err != nil {
		return nil, err
	}
	help, err := read("xsoar/description.md")
	if err != nil {
		return nil, err
	}
	changelog, err := read("CHANGELOG.md")
	if err != nil {
		return nil, err
	}
	if dockerImage == "" {
		dockerImage = currentDockerImage(yml)
	}
	out, err := Integration(yml, string(script), string(help), dockerImage)
	if err != nil {
		return nil, err
	}
	var in struct {
		Name        string `yaml:"name"`
		Description string `yaml:"description"`
		Script      struct {
			Commands []struct {
				Name        string `yaml:"name"`
				Description string `yaml:"description"`
			} `yaml:"commands"`
		} `yaml:"script"`
	}
	if err := yaml.Unmarshal(out, &in); err != nil {
		return nil, err
	}
	notes, err := releaseNotes(string(changelog), in.Name)
	if err != nil {
		return nil, err
	}
	pack := "Packs/" + PackName + "/"
	files := map[string][]byte{
		"integration.yml":           out,
		pack + "pack_metadata.json": packMetadataJSON(in.Description),
		pack + "README.md":          packReadme(in.Name, in.Description, in.Script.Commands),
		pack + "ReleaseNotes/" + strings.ReplaceAll(PackVersion, ".", "_") + ".md": notes,
		pack + ".secrets-ignore":                                                        []byte(strings.Join(secretsIgnore, "\n") + "\n"),
		pack + "Integrations/integration-" + PackName + ".yml":                          out,
		pack + "IncidentTypes/incidenttype-" + fileName(IncidentType) + ".json":         incidentTypeJSON(),
		pack + "Classifiers/classifier-mapper-incoming-" + fileName(PackName) + ".json": mapperJSON(),
		pack + "TestPlaybooks/playbook-" + fileName(TestPlaybook) + ".yml":              testPlaybookYAML(in.Name),
	}
	for _, f := range mappedFields {
		files[pack+"IncidentFields/incidentfield-"+fileName(f.Name)+".json"] = incidentFieldJSON(f)
	}
	return files, nil
}

// currentDockerImage is integration.yml's script.dockerimage, or DockerImage.
func currentDockerImage(yml []byte) string {
	var doc struct {
		Script struct {
			DockerImage string `yaml:"dockerimage"`
		} `yaml:"script"`
	}
	if yaml.Unmarshal(yml, &doc) == nil && doc.Script.DockerImage != "" {
		return doc.Script.DockerImage
	}
	return DockerImage
}

// Integration returns integration.yml with the bridge, the Help tab, the
// logo, the docker image, the mapper and the test playbook set.
func Integration(yml []byte, script, help, dockerImage string) ([]byte, error) {
	out, err := Embed(yml, script, dockerImage)
	if err != nil {
		return nil, err
	}
	desc, err := blockScalar(help)
	if err != nil {
		return nil, fmt.Errorf("xsoar/description.md %v", err)
	}
	out = SetTopLevel(out, "detaileddescription", desc, "description")
	uri, err := imageURI(out)
	if err != nil {
		return nil, err
	}
	out = SetTopLevel(out, "image", []string{" " + uri}, "detaileddescription")
	out = SetTopLevel(out, "defaultmapperin", []string{" " + MapperID}, "image")
	out = SetTopLevel(out, "tests", []string{"", "- " + TestPlaybook}, "")

	var doc struct {
		Detailed string   `yaml:"detaileddescription"`
		Image    string   `yaml:"image"`
		Mapper   string   `yaml:"defaultmapperin"`
		Tests    []string `yaml:"tests"`
	}
	if err := yaml.Unmarshal(out, &doc); err != nil {
		return nil, fmt.Errorf("the regenerated integration.yml does not parse: %v", err)
	}
	switch {
	case doc.Detailed != strings.TrimRight(help, "\n"):
		return nil, errors.New("the regenerated detaileddescription does not read back as xsoar/description.md")
	case doc.Image != uri || doc.Mapper != MapperID || len(doc.Tests) != 1 || doc.Tests[0] != TestPlaybook:
		return nil, errors.New("the regenerated image, defaultmapperin or tests do not read back")
	}
	return out, nil
}

// imageURI returns the logo as a data URI. When yml already holds a PNG with
// the same pixels, its bytes are kept: another Go version may compress the
// same image differently, which is no reason to rewrite the file.
func imageURI(yml []byte) (string, error) {
	var doc struct {
		Image string `yaml:"image"`
	}
	_ = yaml.Unmarshal(yml, &doc)
	want := logo.Image()
	if data, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(doc.Image, imagePrefix)); err == nil && strings.HasPrefix(doc.Image, imagePrefix) {
		if got, err := png.Decode(bytes.NewReader(data)); err == nil && samePixels(got, want) {
			return doc.Image, nil
		}
	}
	data, err := logo.PNG()
	if err != nil {
		return "", err
	}
	return imagePrefix + base64.StdEncoding.EncodeToString(data), nil
}

func samePixels(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			r1, g1, b1, a1 := a.At(x, y).RGBA()
			r2, g2, b2, a2 := b.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
				return false
			}
		}
	}
	return true
}

// fileName turns a content item's name into the file-name form of the
// content repository ("Office 365 Audit Record" → "Office_365_Audit_Record").
func fileName(name string) string {
	name = regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(name, "_")
	return strings.Trim(name, "_")
}

// releaseNotes formats the CHANGELOG.md section of PackVersion as the pack's
// release notes.
func releaseNotes(changelog, integration string) ([]byte, error) {
	var body []string
	in := false
	for _, l := range strings.Split(changelog, "\n") {
		if strings.HasPrefix(l, "## ") {
			if in {
				break
			}
			in = strings.HasPrefix(strings.TrimPrefix(l, "## "), PackVersion+" ") || strings.TrimPrefix(l, "## ") == PackVersion
			continue
		}
		if in {
			body = append(body, l)
		}
	}
	text := strings.TrimSpace(strings.Join(body, "\n"))
	if text == "" {
		return nil, fmt.Errorf("CHANGELOG.md has no \"## %s\" section to make the release notes from", PackVersion)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n#### Integrations\n\n##### %s\n\n%s\n", integration, text)
	fmt.Fprintf(&b, "\n#### Incident Types\n\n##### %s\n\n- New incident type for the audit records fetched as incidents.\n", IncidentType)
	b.WriteString("\n#### Incident Fields\n\n")
	for _, f := range mappedFields {
		fmt.Fprintf(&b, "- New: **%s**\n", f.Name)
	}
	fmt.Fprintf(&b, "\n#### Mappers\n\n##### %s\n\n- New incoming mapper: user, source IP, operation, workload, record type, object, result status and occurred, from the audit record.\n", MapperID)
	return []byte(b.String()), nil
}

func packReadme(integration, description string, commands []struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
}) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n%s\n\n", PackDisplay, description)
	b.WriteString("The integration is a small Python bridge that runs the `ms-management-activity` executable (Go) from the\n" +
		"integration's docker image. Fetched records become **" + IncidentType + "** incidents; the incoming mapper\n" +
		"fills their fields (user, source IP, operation, workload, record type, object, result status, occurred).\n\n")
	b.WriteString("## What this pack contains\n\n")
	fmt.Fprintf(&b, "- Integration: **%s** (the reference integration's id, parameters, commands and context paths)\n", integration)
	fmt.Fprintf(&b, "- Incident type: **%s**, with %d incident fields\n", IncidentType, len(mappedFields))
	fmt.Fprintf(&b, "- Incoming mapper: **%s**\n", MapperID)
	fmt.Fprintf(&b, "- Test playbook: **%s**\n\n", TestPlaybook)
	b.WriteString("## Commands\n\n| Command | Description |\n|---|---|\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "| `!%s` | %s |\n", c.Name, strings.ReplaceAll(c.Description, "|", "\\|"))
	}
	b.WriteString("\n## Installing\n\nBuild the docker image and make it available to the XSOAR server or engine, then upload this pack.\n" +
		"Step by step for Cortex XSOAR 6 and 8: https://github.com/secops-go/ms-management-activity/blob/main/xsoar/README.md\n" +
		"The Help tab of the integration walks through every authentication flow.\n")
	return []byte(b.String())
}

// secretsIgnore are the strings in the pack that look like secrets to
// demisto-sdk's secrets check but are not.
var secretsIgnore = []string{
	"https://oproxy.demisto.ninja",
	"https://oproxy.demisto.ninja/ms-management-api",
	"https://login.microsoftonline.com",
	"https://login.microsoftonline.us",
	"https://entra.microsoft.us",
	"ebac1a16-81bf-449b-8d43-5732c3c1d999",
	"c5393580-f805-4401-95e8-94b7a6ef2fc2",
}
