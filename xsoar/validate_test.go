package xsoar

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The rules below are those of the demisto-sdk schemas
// (demisto_sdk/commands/common/schemas/{integration,mapper,incidenttype,
// incidentfield,playbook}.yml) and validators (DO101/DO104/DO105 docker
// image, IM101/IM111 image, PA101/PA103/PA107/PA111/PA115/PA117 pack
// metadata) that can be checked without a server or a registry, plus what
// the engine needs to install the pack (every reference resolves).

const packDir = "../Packs/MicrosoftManagementActivityGo"

// paramTypes are the parameter type numbers the engine knows
// (demisto-sdk constants.ParameterType).
var paramTypes = map[int]string{0: "string", 1: "number", 4: "encrypted", 8: "boolean", 9: "credentials", 11: "download link",
	12: "text area", 13: "incident type", 14: "encrypted text area", 15: "single select", 16: "multi select", 17: "expiration",
	18: "feed reputation", 19: "interval", 20: "bold title", 21: "day dropdown", 22: "result link", 23: "engine placeholder"}

// integrationCategories is demisto-sdk's INTEGRATION_CATEGORIES.
var integrationCategories = []string{"Analytics & SIEM", "Utilities", "Messaging and Conferencing", "Endpoint", "Network Security",
	"Vulnerability Management", "Case Management", "Forensics & Malware Analysis", "IT Services", "Data Enrichment & Threat Intelligence",
	"Database", "Deception & Breach Simulation", "Email", "Identity and Access Management", "Cloud Services", "Authentication & Identity Management"}

var (
	topLevelKeys = []string{"commonfields", "name", "display", "deprecated", "beta", "category", "provider", "sectionOrder", "sectionorder",
		"fromversion", "toversion", "image", "description", "defaultmapperin", "defaultmapperout", "defaultclassifier", "detaileddescription",
		"autoconfiginstance", "supportlevelheader", "configuration", "script", "system", "hidden", "source", "videos", "tests",
		"marketplaces", "supportedModules", "hybrid", "isCloudProviderIntegration"}
	paramKeys = []string{"display", "section", "advanced", "defaultvalue", "name", "type", "required", "hidden", "options",
		"additionalinfo", "displaypassword", "hiddenusername", "hiddenpassword", "fromlicense"}
	scriptKeys = []string{"script", "type", "dockerimage", "isfetch", "isfetchevents", "longRunning", "longRunningPort", "ismappable",
		"isremotesyncin", "isremotesyncout", "commands", "runonce", "subtype", "feed", "isFetchSamples", "resetContext"}
	commandKeys  = []string{"name", "prettyname", "execution", "description", "deprecated", "system", "arguments", "outputs", "important", "timeout", "hidden", "polling"}
	argumentKeys = []string{"name", "prettyname", "description", "required", "default", "auto", "predefined", "isArray", "secret", "deprecated", "defaultValue", "type", "execution", "hidden"}
	outputKeys   = []string{"contextPath", "description", "type", "important", "importantDescription"}
	outputTypes  = []string{"String", "Number", "Boolean", "Date", "Unknown"}
	// dockerImageRE is repository/image:tag: at least one "/" (a registry
	// or namespace, so the engine does not look the name up on Docker Hub's
	// library) and an explicit tag.
	dockerImageRE = regexp.MustCompile(`^(?:[a-z0-9.-]+(?::[0-9]+)?/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)+:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	// helpRefRE finds "see the Help tab" and the section it names.
	helpRefRE = regexp.MustCompile(`(?i)see the help tab(?:, "([^"]+)")?`)
)

type problems []string

func (p *problems) add(format string, a ...any) { *p = append(*p, fmt.Sprintf(format, a...)) }

// checkKeys reports keys not in allowed (the schemas are closed maps).
func (p *problems) checkKeys(where string, m map[string]any, allowed []string) {
	for k := range m {
		if !slices.Contains(allowed, k) {
			p.add("%s: unknown key %q", where, k)
		}
	}
}

func str(m map[string]any, k string) (string, bool) { s, ok := m[k].(string); return s, ok }

func (p *problems) requireStr(where string, m map[string]any, k string) string {
	s, ok := str(m, k)
	if !ok || strings.TrimSpace(s) == "" {
		p.add("%s: %s is required and must be a non-empty string (got %T %v)", where, k, m[k], m[k])
	}
	return s
}

func (p *problems) optType(where string, m map[string]any, k string, kind string) {
	v, ok := m[k]
	if !ok || v == nil {
		return
	}
	good := false
	switch kind {
	case "bool":
		_, good = v.(bool)
	case "str":
		_, good = v.(string)
	case "int":
		_, good = v.(int)
	case "seq":
		_, good = v.([]any)
	case "map":
		_, good = v.(map[string]any)
	}
	if !good {
		p.add("%s: %s must be a %s, not %T", where, k, kind, v)
	}
}

func asMaps(v any) []map[string]any {
	list, _ := v.([]any)
	var out []map[string]any
	for _, e := range list {
		m, _ := e.(map[string]any)
		out = append(out, m)
	}
	return out
}

// validateIntegration checks an integration YAML against the schema rules;
// help is the Help tab's markdown (for the "see the Help tab" references).
func validateIntegration(doc map[string]any) problems {
	var p problems
	p.checkKeys("integration", doc, topLevelKeys)
	cf, _ := doc["commonfields"].(map[string]any)
	if cf == nil {
		p.add("commonfields is required")
	} else {
		p.requireStr("commonfields", cf, "id")
		if _, ok := cf["version"].(int); !ok {
			p.add("commonfields.version must be an int")
		}
	}
	for _, k := range []string{"name", "display", "category", "description"} {
		p.requireStr("integration", doc, k)
	}
	if c, _ := str(doc, "category"); !slices.Contains(integrationCategories, c) {
		p.add("category %q is not one of demisto-sdk's categories", c)
	}
	help := p.requireStr("integration", doc, "detaileddescription")
	p.checkImage(doc)
	for _, k := range []string{"fromversion", "defaultmapperin"} {
		p.optType("integration", doc, k, "str")
	}
	p.optType("integration", doc, "tests", "seq")

	sections := map[string]bool{}
	for _, s := range asSlice(doc["sectionOrder"]) {
		sections[fmt.Sprint(s)] = true
	}
	cfg := asMaps(doc["configuration"])
	if len(cfg) == 0 {
		p.add("configuration is required and must be a non-empty list")
	}
	seen := map[string]bool{}
	for i, c := range cfg {
		if c == nil {
			p.add("configuration[%d] is not a map", i)
			continue
		}
		name := p.requireStr(fmt.Sprintf("configuration[%d]", i), c, "name")
		where := "parameter " + name
		p.checkKeys(where, c, paramKeys)
		if seen[name] {
			p.add("%s is declared twice", where)
		}
		seen[name] = true
		t, ok := c["type"].(int)
		if _, known := paramTypes[t]; !ok || !known {
			p.add("%s: type %v is not a parameter type number the engine knows", where, c["type"])
		}
		for _, k := range []string{"required", "advanced", "hiddenusername", "hiddenpassword"} {
			p.optType(where, c, k, "bool")
		}
		for _, k := range []string{"display", "section", "additionalinfo", "displaypassword"} {
			p.optType(where, c, k, "str")
		}
		p.optType(where, c, "options", "seq")
		if t == 15 || t == 16 {
			if len(asSlice(c["options"])) == 0 {
				p.add("%s: a select parameter needs options", where)
			}
		}
		if _, hasDisplay := c["display"]; !hasDisplay && t != 9 {
			if h, _ := c["hidden"].(bool); !h {
				p.add("%s: a visible parameter needs a display", where)
			}
		}
		if t == 9 {
			if _, ok := str(c, "displaypassword"); !ok {
				p.add("%s: a credentials parameter needs displaypassword", where)
			}
		}
		if s, ok := str(c, "section"); ok && len(sections) > 0 && !sections[s] {
			p.add("%s: section %q is not in sectionOrder", where, s)
		}
		if info, _ := str(c, "additionalinfo"); info != "" {
			p.checkHelpRefs(where, info, help)
		}
	}

	script, _ := doc["script"].(map[string]any)
	if script == nil {
		p.add("script is required")
		return p
	}
	p.checkKeys("script", script, scriptKeys)
	p.requireStr("script", script, "script")
	if t, _ := str(script, "type"); !slices.Contains([]string{"javascript", "python", "powershell"}, t) {
		p.add("script.type %q must be javascript, python or powershell", t)
	}
	if st, ok := str(script, "subtype"); ok && st != "python2" && st != "python3" {
		p.add("script.subtype %q must be python2 or python3", st)
	}
	for _, k := range []string{"isfetch", "ismappable", "longRunning", "feed", "runonce"} {
		p.optType("script", script, k, "bool")
	}
	img, _ := str(script, "dockerimage")
	switch {
	case img == "":
		p.add("script.dockerimage is required for a python integration")
	case !dockerImageRE.MatchString(img):
		p.add("script.dockerimage %q is not repository/image:tag (DO105/DO104)", img)
	case strings.HasSuffix(img, ":latest"):
		p.add("script.dockerimage %q uses the latest tag (DO101)", img)
	}
	if isFetch, _ := script["isfetch"].(bool); isFetch {
		for _, need := range []string{"isFetch", "incidentType"} {
			if !seen[need] {
				p.add("script.isfetch is true but the %s parameter is missing", need)
			}
		}
	}
	cmds := map[string]bool{}
	for i, c := range asMaps(script["commands"]) {
		if c == nil {
			p.add("script.commands[%d] is not a map", i)
			continue
		}
		name := p.requireStr(fmt.Sprintf("script.commands[%d]", i), c, "name")
		where := "command " + name
		p.checkKeys(where, c, commandKeys)
		p.requireStr(where, c, "description")
		if cmds[name] {
			p.add("%s is declared twice", where)
		}
		cmds[name] = true
		args := map[string]bool{}
		for j, a := range asMaps(c["arguments"]) {
			an := p.requireStr(fmt.Sprintf("%s arguments[%d]", where, j), a, "name")
			p.checkKeys(where+" argument "+an, a, argumentKeys)
			p.requireStr(where+" argument "+an, a, "description")
			for _, k := range []string{"required", "default", "isArray", "secret"} {
				p.optType(where+" argument "+an, a, k, "bool")
			}
			if args[an] {
				p.add("%s: argument %s is declared twice", where, an)
			}
			args[an] = true
			if a["auto"] == "PREDEFINED" && len(asSlice(a["predefined"])) == 0 {
				p.add("%s argument %s: auto PREDEFINED without predefined values", where, an)
			}
		}
		paths := map[string]bool{}
		for j, o := range asMaps(c["outputs"]) {
			cp := p.requireStr(fmt.Sprintf("%s outputs[%d]", where, j), o, "contextPath")
			p.checkKeys(where+" output "+cp, o, outputKeys)
			p.requireStr(where+" output "+cp, o, "description")
			// The engine reads the type case-insensitively (the reference
			// declares "string"); anything else is not a type.
			if t, ok := str(o, "type"); ok && !slices.ContainsFunc(outputTypes, func(s string) bool { return strings.EqualFold(s, t) }) {
				p.add("%s output %s: type %q is not one of %v", where, cp, t, outputTypes)
			}
			if paths[cp] {
				p.add("%s: output %s is declared twice", where, cp)
			}
			paths[cp] = true
		}
	}
	return p
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

// checkImage: a data URI of a PNG, 120×50 (IM111), at most 10 kB (IM101).
func (p *problems) checkImage(doc map[string]any) {
	uri, _ := str(doc, "image")
	data, ok := strings.CutPrefix(uri, "data:image/png;base64,")
	if !ok {
		p.add("image must be a data:image/png;base64, URI")
		return
	}
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		p.add("image is not valid base64: %v", err)
		return
	}
	if len(raw) > 10*1024 {
		p.add("image is %d bytes, over demisto-sdk's 10 kB (IM101)", len(raw))
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(raw))
	if err != nil {
		p.add("image is not a PNG: %v", err)
		return
	}
	if cfg.Width != 120 || cfg.Height != 50 {
		p.add("image is %d×%d, want 120×50 (IM111)", cfg.Width, cfg.Height)
	}
}

// checkHelpRefs: every "see the Help tab" names a section of the Help tab
// ("See the Help tab, \"Section\"") that exists as a markdown heading.
func (p *problems) checkHelpRefs(where, text, help string) {
	for _, m := range helpRefRE.FindAllStringSubmatch(text, -1) {
		if m[1] == "" {
			p.add("%s says %q without naming a Help tab section (write: See the Help tab, \"Section\")", where, m[0])
			continue
		}
		if !hasHeading(help, m[1]) {
			p.add("%s refers to the Help tab section %q, which the detaileddescription does not have", where, m[1])
		}
	}
}

func hasHeading(md, title string) bool {
	for _, l := range strings.Split(md, "\n") {
		if t := strings.TrimLeft(l, "#"); t != l && strings.TrimSpace(t) == title {
			return true
		}
	}
	return false
}

// pack is the pack folder's content, parsed.
type pack struct {
	metadata     map[string]any
	files        map[string][]byte // relative path → content
	integration  map[string]any
	incidentType []map[string]any
	fields       []map[string]any
	mappers      []map[string]any
	playbooks    []map[string]any
}

func loadPack(t *testing.T, dir string) *pack {
	t.Helper()
	pk := &pack{files: map[string][]byte{}}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		rel = filepath.ToSlash(rel)
		pk.files[rel] = data
		decode := func(into *[]map[string]any, asYAML bool) {
			var m map[string]any
			var err error
			if asYAML {
				err = yaml.Unmarshal(data, &m)
			} else {
				err = json.Unmarshal(data, &m)
			}
			if err != nil {
				t.Errorf("%s: %v", rel, err)
			}
			*into = append(*into, m)
		}
		switch dirName, _, _ := strings.Cut(rel, "/"); {
		case rel == "pack_metadata.json":
			if err := json.Unmarshal(data, &pk.metadata); err != nil {
				t.Errorf("pack_metadata.json: %v", err)
			}
		case dirName == "Integrations" && strings.HasSuffix(rel, ".yml"):
			if err := yaml.Unmarshal(data, &pk.integration); err != nil {
				t.Errorf("%s: %v", rel, err)
			}
		case dirName == "IncidentTypes":
			decode(&pk.incidentType, false)
		case dirName == "IncidentFields":
			decode(&pk.fields, false)
		case dirName == "Classifiers":
			decode(&pk.mappers, false)
		case dirName == "TestPlaybooks":
			decode(&pk.playbooks, true)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pk
}

var (
	packMandatory    = []string{"name", "description", "support", "currentVersion", "author", "url", "categories", "tags", "useCases", "keywords", "marketplaces"}
	packSupport      = []string{"xsoar", "partner", "developer", "community"}
	packMarketplaces = []string{"xsoar", "marketplacev2", "xpanse", "xsoar_saas", "xsoar_on_prem", "platform"}
	semverRE         = regexp.MustCompile(`^\d+\.\d+\.\d+$`)
	isoRE            = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$`)
	cliNameRE        = regexp.MustCompile(`^[a-z0-9]+$`)
	fieldTypes       = []string{"shortText", "longText", "boolean", "singleSelect", "multiSelect", "date", "user", "role", "number", "attachments", "tagsSelect", "internal", "url", "markdown", "grid", "timer", "html"}
	taskTypes        = []string{"regular", "playbook", "condition", "start", "title", "section", "standard", "collection"}
	// systemFields are incident fields every server has, which a mapper
	// may fill without the pack defining them.
	systemFields = []string{"occurred", "name", "severity", "details", "owner", "dbotMirrorId"}
)

// validatePack checks the pack's metadata and content items and that every
// reference between them resolves.
func validatePack(pk *pack) problems {
	var p problems
	md := pk.metadata
	if md == nil {
		p.add("pack_metadata.json is missing")
		return p
	}
	for _, k := range packMandatory {
		if _, ok := md[k]; !ok {
			p.add("pack_metadata.json: %s is missing (PA107)", k)
		}
	}
	for _, k := range []string{"name", "description", "author", "url"} {
		if s, _ := str(md, k); strings.TrimSpace(s) == "" || strings.Contains(s, "fill mandatory field") {
			p.add("pack_metadata.json: %s must be filled (PA108/PA109)", k)
		}
	}
	if s, _ := str(md, "support"); !slices.Contains(packSupport, s) {
		p.add("pack_metadata.json: support %q is not one of %v (PA117)", s, packSupport)
	}
	version, _ := str(md, "currentVersion")
	if !semverRE.MatchString(version) {
		p.add("pack_metadata.json: currentVersion %q is not x.y.z", version)
	} else if _, ok := pk.files["ReleaseNotes/"+strings.ReplaceAll(version, ".", "_")+".md"]; !ok {
		p.add("ReleaseNotes/%s.md is missing for currentVersion %s (PA101)", strings.ReplaceAll(version, ".", "_"), version)
	}
	if s, ok := str(md, "created"); ok && !isoRE.MatchString(s) {
		p.add("pack_metadata.json: created %q is not ISO 8601 UTC (PA115)", s)
	}
	for _, k := range []string{"categories", "tags", "useCases", "keywords", "marketplaces"} {
		v, ok := md[k].([]any)
		if _, present := md[k]; present && !ok {
			p.add("pack_metadata.json: %s must be a list", k)
		}
		for _, e := range v {
			if s, _ := e.(string); strings.TrimSpace(s) == "" {
				p.add("pack_metadata.json: %s holds an empty value (PA111)", k)
			}
		}
	}
	cats := asSlice(md["categories"])
	if len(cats) == 0 {
		p.add("pack_metadata.json: categories needs at least one category (PA103)")
	}
	for _, c := range cats {
		if !slices.Contains(integrationCategories, fmt.Sprint(c)) {
			p.add("pack_metadata.json: category %q is not approved (PA103)", c)
		}
	}
	for _, m := range asSlice(md["marketplaces"]) {
		if !slices.Contains(packMarketplaces, fmt.Sprint(m)) {
			p.add("pack_metadata.json: marketplace %q is unknown", m)
		}
	}
	if s, _ := str(md, "support"); s == "partner" || s == "developer" {
		if u, _ := str(md, "url"); u == "" {
			if e, _ := str(md, "email"); e == "" {
				p.add("pack_metadata.json: a %s pack needs a url or an email (PA113)", s)
			}
		}
	}
	for _, f := range []string{"README.md", ".secrets-ignore"} {
		if _, ok := pk.files[f]; !ok {
			p.add("%s is missing", f)
		}
	}
	if pk.integration == nil {
		p.add("Integrations/ holds no integration")
		return p
	}
	p = append(p, validateIntegration(pk.integration)...)

	types := map[string]bool{}
	for _, it := range pk.incidentType {
		for _, k := range []string{"id", "name", "color"} {
			p.requireStr("incident type", it, k)
		}
		if _, ok := it["version"].(float64); !ok {
			p.add("incident type %v: version must be a number", it["id"])
		}
		name, _ := str(it, "name")
		types[name] = true
	}
	fields := map[string]bool{}
	for _, f := range pk.fields {
		name := p.requireStr("incident field", f, "name")
		cli := p.requireStr("incident field "+name, f, "cliName")
		if !cliNameRE.MatchString(cli) {
			p.add("incident field %s: cliName %q must be lowercase letters and digits", name, cli)
		}
		if id, _ := str(f, "id"); id != "incident_"+cli {
			p.add("incident field %s: id %q must be incident_%s", name, id, cli)
		}
		if t, _ := str(f, "type"); !slices.Contains(fieldTypes, t) {
			p.add("incident field %s: type %q is not a field type", name, t)
		}
		for _, at := range asSlice(f["associatedTypes"]) {
			if !types[fmt.Sprint(at)] {
				p.add("incident field %s is associated with the incident type %q, which the pack does not define", name, at)
			}
		}
		fields[name] = true
	}
	mappers := map[string]map[string]bool{} // mapper id → the incident types it maps
	for _, m := range pk.mappers {
		id := p.requireStr("mapper", m, "id")
		for _, k := range []string{"name", "description"} {
			p.requireStr("mapper "+id, m, k)
		}
		if t, _ := str(m, "type"); t != "mapping-incoming" && t != "mapping-outgoing" {
			p.add("mapper %s: type %q", id, t)
		}
		if _, ok := m["version"].(float64); !ok {
			p.add("mapper %s: version must be a number", id)
		}
		mapping, _ := m["mapping"].(map[string]any)
		if mapping == nil {
			p.add("mapper %s: mapping is required", id)
		}
		for typ, v := range mapping {
			if !types[typ] {
				p.add("mapper %s maps the incident type %q, which the pack does not define", id, typ)
			}
			im, _ := v.(map[string]any)["internalMapping"].(map[string]any)
			if len(im) == 0 {
				p.add("mapper %s: %s has no internalMapping", id, typ)
			}
			for field, fm := range im {
				if !fields[field] && !slices.Contains(systemFields, field) {
					p.add("mapper %s fills the incident field %q, which neither the pack nor the server defines", id, field)
				}
				fmm, _ := fm.(map[string]any)
				simple, _ := str(fmm, "simple")
				cx, _ := fmm["complex"].(map[string]any)
				if root, _ := str(cx, "root"); simple == "" && root == "" {
					p.add("mapper %s: %s is mapped from nothing (neither simple nor complex.root)", id, field)
				}
			}
			if mappers[id] == nil {
				mappers[id] = map[string]bool{}
			}
			mappers[id][typ] = true
		}
		if d, _ := str(m, "defaultIncidentType"); d != "" && !types[d] {
			p.add("mapper %s: defaultIncidentType %q is not defined", id, d)
		}
		if mappers[id] == nil {
			mappers[id] = map[string]bool{}
		}
	}
	mi, _ := str(pk.integration, "defaultmapperin")
	if mi != "" && mappers[mi] == nil {
		p.add("the integration's defaultmapperin %q is not a mapper of the pack", mi)
	} else if mi == "" {
		p.add("the integration has no defaultmapperin")
	}
	// Out of the box, the fetched incidents must be of a type the pack
	// defines and its incoming mapper maps: with no default, an instance
	// creates Unclassified incidents and the mapper never applies.
	for _, c := range asMaps(pk.integration["configuration"]) {
		if c["name"] != "incidentType" {
			continue
		}
		switch d, _ := str(c, "defaultvalue"); {
		case d == "":
			p.add("the incidentType parameter has no defaultvalue: incidents would be Unclassified and the pack's mapper would not apply")
		case !types[d]:
			p.add("the incidentType parameter's defaultvalue %q is not an incident type of the pack", d)
		case mi != "" && mappers[mi] != nil && !mappers[mi][d]:
			p.add("the incoming mapper %q does not map %q, the incidentType parameter's defaultvalue", mi, d)
		}
	}

	commands := map[string]bool{"test-module": true}
	script, _ := pk.integration["script"].(map[string]any)
	for _, c := range asMaps(script["commands"]) {
		commands[fmt.Sprint(c["name"])] = true
	}
	brand, _ := str(pk.integration, "name")
	playbooks := map[string]bool{}
	for _, pb := range pk.playbooks {
		id := p.requireStr("playbook", pb, "id")
		for _, k := range []string{"name", "description", "starttaskid", "view"} {
			p.requireStr("playbook "+id, pb, k)
		}
		if _, ok := pb["version"].(int); !ok {
			p.add("playbook %s: version must be an int", id)
		}
		tasks, _ := pb["tasks"].(map[string]any)
		if _, ok := tasks[fmt.Sprint(pb["starttaskid"])]; !ok {
			p.add("playbook %s: starttaskid %v is not a task", id, pb["starttaskid"])
		}
		for key, tv := range tasks {
			task, _ := tv.(map[string]any)
			where := fmt.Sprintf("playbook %s task %s", id, key)
			if fmt.Sprint(task["id"]) != key {
				p.add("%s: id %v differs from its key", where, task["id"])
			}
			p.requireStr(where, task, "taskid")
			if t, _ := str(task, "type"); !slices.Contains(taskTypes, t) {
				p.add("%s: type %q", where, t)
			}
			inner, _ := task["task"].(map[string]any)
			if inner == nil {
				p.add("%s: task is required", where)
				continue
			}
			if _, ok := inner["version"].(int); !ok {
				p.add("%s: task.version must be an int", where)
			}
			if s, _ := str(inner, "script"); s != "" {
				b, cmd, ok := strings.Cut(s, "|||")
				if !ok || (b != "" && b != brand) || !commands[cmd] {
					p.add("%s runs %q, which is not a command of %s", where, s, brand)
				}
			}
			nexts, _ := task["nexttasks"].(map[string]any)
			for _, targets := range nexts {
				for _, n := range asSlice(targets) {
					if _, ok := tasks[fmt.Sprint(n)]; !ok {
						p.add("%s: next task %v does not exist", where, n)
					}
				}
			}
		}
		playbooks[id] = true
	}
	tests := asSlice(pk.integration["tests"])
	if len(tests) == 0 {
		p.add("the integration names no test playbook (tests)")
	}
	for _, tp := range tests {
		if !playbooks[fmt.Sprint(tp)] {
			p.add("the integration's test playbook %q is not in TestPlaybooks/", tp)
		}
	}
	return p
}

func readIntegration(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile("../integration.yml")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestIntegrationAndPackValidate: integration.yml and the pack pass the
// offline schema rules, and the pack ships integration.yml as it is.
func TestIntegrationAndPackValidate(t *testing.T) {
	for _, msg := range validateIntegration(readIntegration(t)) {
		t.Errorf("integration.yml: %s", msg)
	}
	pk := loadPack(t, packDir)
	for _, msg := range validatePack(pk) {
		t.Errorf("pack: %s", msg)
	}
	root, _ := os.ReadFile("../integration.yml")
	if !bytes.Equal(pk.files["Integrations/integration-MicrosoftManagementActivityGo.yml"], root) {
		t.Error("the pack's integration differs from integration.yml; regenerate with: go run ./xsoar/embed")
	}
}

// packParam is the parameter called name of the pack's integration.
func packParam(pk *pack, name string) map[string]any {
	for _, c := range asMaps(pk.integration["configuration"]) {
		if c["name"] == name {
			return c
		}
	}
	panic("no parameter " + name)
}

// TestValidationCatchesDrift: each rule fails on a copy that drifted from it
// (so the test above cannot pass by checking nothing).
func TestValidationCatchesDrift(t *testing.T) {
	clone := func(v map[string]any) map[string]any {
		data, _ := yaml.Marshal(v)
		var out map[string]any
		if err := yaml.Unmarshal(data, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	param := func(doc map[string]any, name string) map[string]any {
		for _, c := range asMaps(doc["configuration"]) {
			if c["name"] == name {
				return c
			}
		}
		t.Fatalf("no parameter %s", name)
		return nil
	}
	command := func(doc map[string]any, name string) map[string]any {
		for _, c := range asMaps(doc["script"].(map[string]any)["commands"]) {
			if c["name"] == name {
				return c
			}
		}
		t.Fatalf("no command %s", name)
		return nil
	}
	for name, c := range map[string]struct {
		mutate func(map[string]any)
		want   string
	}{
		"no detaileddescription": {func(d map[string]any) { delete(d, "detaileddescription") }, "detaileddescription is required"},
		"no image":               {func(d map[string]any) { delete(d, "image") }, "data:image/png;base64"},
		"image not a PNG": {func(d map[string]any) {
			d["image"] = "data:image/png;base64," + base64.StdEncoding.EncodeToString([]byte("GIF89a"))
		}, "not a PNG"},
		"dockerimage without repository": {func(d map[string]any) { d["script"].(map[string]any)["dockerimage"] = "ms-management-activity:1.0.0" }, "not repository/image:tag"},
		"dockerimage without tag":        {func(d map[string]any) { d["script"].(map[string]any)["dockerimage"] = "ghcr.io/x/y" }, "not repository/image:tag"},
		"dockerimage latest":             {func(d map[string]any) { d["script"].(map[string]any)["dockerimage"] = "ghcr.io/x/y:latest" }, "latest tag"},
		"unknown param type":             {func(d map[string]any) { param(d, "base_url")["type"] = 3 }, "type 3 is not a parameter type"},
		"param type a string":            {func(d map[string]any) { param(d, "base_url")["type"] = "0" }, "is not a parameter type"},
		"required not a bool":            {func(d map[string]any) { param(d, "base_url")["required"] = "false" }, "required must be a bool"},
		"unknown key":                    {func(d map[string]any) { d["detailed_description"] = "x" }, `unknown key "detailed_description"`},
		"no category":                    {func(d map[string]any) { delete(d, "category") }, "category is required"},
		"version not an int":             {func(d map[string]any) { d["commonfields"].(map[string]any)["version"] = "-1" }, "version must be an int"},
		"output declared twice": {func(d map[string]any) {
			c := command(d, "ms-management-activity-list-content")
			outs := c["outputs"].([]any)
			c["outputs"] = append(outs, outs[0])
		}, "is declared twice"},
		"help ref without section": {func(d map[string]any) { param(d, "credentials_auth_id")["additionalinfo"] = "See the Help tab." }, "without naming a Help tab section"},
		"help ref to missing section": {func(d map[string]any) {
			param(d, "credentials_auth_id")["additionalinfo"] = `See the Help tab, "No such section".`
		}, `section "No such section"`},
	} {
		doc := clone(readIntegration(t))
		c.mutate(doc)
		got := strings.Join(validateIntegration(doc), "\n")
		if !strings.Contains(got, c.want) {
			t.Errorf("%s: want a problem containing %q, got:\n%s", name, c.want, got)
		}
	}

	for name, c := range map[string]struct {
		mutate func(*pack)
		want   string
	}{
		"metadata field missing": {func(p *pack) { delete(p.metadata, "keywords") }, "keywords is missing"},
		"bad support":            {func(p *pack) { p.metadata["support"] = "nobody" }, "support \"nobody\""},
		"empty keyword":          {func(p *pack) { p.metadata["keywords"] = []any{""} }, "empty value"},
		"version without notes":  {func(p *pack) { p.metadata["currentVersion"] = "1.0.1" }, "ReleaseNotes/1_0_1.md is missing"},
		"created not ISO":        {func(p *pack) { p.metadata["created"] = "02/12/2026" }, "not ISO 8601"},
		"category not approved":  {func(p *pack) { p.metadata["categories"] = []any{"SIEM"} }, "not approved"},
		"mapper names a missing field": {func(p *pack) {
			p.fields = p.fields[1:]
		}, "neither the pack nor the server defines"},
		"defaultmapperin dangling":     {func(p *pack) { p.integration["defaultmapperin"] = "Another mapper" }, "not a mapper of the pack"},
		"incidentType without default": {func(p *pack) { delete(packParam(p, "incidentType"), "defaultvalue") }, "has no defaultvalue"},
		"incidentType default not a pack type": {func(p *pack) {
			packParam(p, "incidentType")["defaultvalue"] = "Unclassified"
		}, "is not an incident type of the pack"},
		"mapper does not map the default type": {func(p *pack) {
			m := p.mappers[0]["mapping"].(map[string]any)
			for typ, v := range m {
				delete(m, typ)
				m["dbot_classification_incident_type_all"] = v
			}
			p.incidentType = append(p.incidentType, map[string]any{"name": "dbot_classification_incident_type_all"})
		}, "does not map"},
		"mapping from nothing": {func(p *pack) {
			for _, v := range p.mappers[0]["mapping"].(map[string]any) {
				v.(map[string]any)["internalMapping"].(map[string]any)["O365 Audit User"] = map[string]any{"simple": ""}
			}
		}, "mapped from nothing"},
		"test playbook missing": {func(p *pack) { p.playbooks = nil }, "is not in TestPlaybooks/"},
		"playbook runs an unknown command": {func(p *pack) {
			for _, tv := range p.playbooks[0]["tasks"].(map[string]any) {
				inner := tv.(map[string]any)["task"].(map[string]any)
				if s, _ := inner["script"].(string); strings.HasSuffix(s, "list-content") {
					inner["script"] = strings.TrimSuffix(s, "list-content") + "list-contents"
				}
			}
		}, "is not a command of"},
		"no README": {func(p *pack) { delete(p.files, "README.md") }, "README.md is missing"},
	} {
		pk := loadPack(t, packDir)
		c.mutate(pk)
		got := strings.Join(validatePack(pk), "\n")
		if !strings.Contains(got, c.want) {
			t.Errorf("%s: want a problem containing %q, got:\n%s", name, c.want, got)
		}
	}
}
