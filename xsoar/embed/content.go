package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/secops-go/ms-management-activity/internal/version"
	"github.com/secops-go/ms-management-activity/params"
)

// The pack's names. The integration keeps the reference integration's id
// (so playbooks keep working); the pack, its incident type and its mapper
// have names of their own, so they install next to the reference pack. The
// incident type is the incidentType parameter's default (params and
// integration.yml's defaultvalue; xsoar/validate_test.go checks they agree).
const (
	PackName     = "MicrosoftManagementActivityGo"
	PackDisplay  = "Microsoft Management Activity API (Go)"
	PackVersion  = version.Release
	IncidentType = params.DefaultIncidentType
	MapperID     = "Microsoft Management Activity API - Incoming Mapper"
	TestPlaybook = "Microsoft Management Activity API (Go) - Test"
	fromVersion  = "6.0.0"
)

// mappedField is one incident field the incoming mapper fills from an
// audit record (the incident's rawJSON), in the Common Schema's names.
type mappedField struct {
	Name, CLIName, Description string
	Record                     string // the record's key
	// Fallbacks are keys read, in order, when Record is absent or empty
	// (see mapping).
	Fallbacks []string
}

// mappedFields are the pack's incident fields. occurred, a system field, is
// mapped too (see mapper).
var mappedFields = []mappedField{
	{"O365 Audit User", "o365audituser", "The user who performed the action (UserId): a UPN, or a service or system account.", "UserId", nil},
	// Azure AD records carry the address in ActorIpAddress, Exchange
	// mailbox audit records in ClientIPAddress (ClientIP empty or absent):
	// the fields search-records' client_ips reads too.
	{"O365 Audit Source IP", "o365auditsourceip", "The IP address of the device the action came from: ClientIP, else ActorIpAddress (Azure AD), else ClientIPAddress (Exchange mailbox audit).", "ClientIP", []string{"ActorIpAddress", "ClientIPAddress"}},
	{"O365 Audit Operation", "o365auditoperation", "The user or admin activity (Operation), e.g. FileAccessed, MailItemsAccessed, UserLoggedIn.", "Operation", nil},
	{"O365 Audit Workload", "o365auditworkload", "The Microsoft 365 service where the activity occurred (Workload), e.g. Exchange, SharePoint, AzureActiveDirectory.", "Workload", nil},
	{"O365 Audit Record Type", "o365auditrecordtype", "The type of operation the record is about (RecordType, a number of the AuditLogRecordType list).", "RecordType", nil},
	{"O365 Audit Object", "o365auditobject", "The object acted on (ObjectId): a file URL, a mailbox, a user or group.", "ObjectId", nil},
	{"O365 Audit Result Status", "o365auditresultstatus", "Whether the action succeeded (ResultStatus), e.g. Succeeded, PartiallySucceeded, Failed.", "ResultStatus", nil},
}

// jsonFile renders v as indented JSON with a final newline.
func jsonFile(v any) []byte {
	b, err := json.MarshalIndent(v, "", "    ")
	if err != nil {
		panic(err) // only maps, slices and strings: cannot fail
	}
	return append(b, '\n')
}

func incidentTypeJSON() []byte {
	return jsonFile(map[string]any{
		"id": IncidentType, "name": IncidentType, "version": -1, "fromVersion": fromVersion,
		"color": "#0078D4", "playbookId": "", "preProcessingScript": "", "closureScript": "",
		"hours": 0, "days": 0, "weeks": 0, "hoursR": 0, "daysR": 0, "weeksR": 0,
		"autorun": false, "default": false, "disabled": false, "locked": false, "readonly": false,
		"reputationCalc": 0, "system": false, "propagationLabels": []string{"all"},
	})
}

func incidentFieldJSON(f mappedField) []byte {
	return jsonFile(map[string]any{
		"id": "incident_" + f.CLIName, "name": f.Name, "cliName": f.CLIName, "description": f.Description,
		"type": "shortText", "version": -1, "fromVersion": fromVersion,
		"associatedToAll": false, "associatedTypes": []string{IncidentType},
		"caseInsensitive": true, "closeForm": false, "editForm": true, "content": true, "group": 0,
		"hidden": false, "isReadOnly": false, "locked": false, "neverSetAsRequired": false,
		"ownerOnly": false, "required": false, "system": false, "unmapped": false, "unsearchable": false,
		"useAsKpi": false, "sla": 0, "threshold": 72, "propagationLabels": []string{"all"},
	})
}

func mapperJSON() []byte {
	internal := map[string]any{
		// CreationTime is UTC without a zone ("2026-11-28T10:15:00"): the
		// concat transformer adds the Z, so XSOAR does not read it as
		// server local time.
		"occurred": map[string]any{"complex": map[string]any{
			"root": "CreationTime", "accessor": "", "filters": []any{},
			"transformers": []any{map[string]any{"operator": "concat", "args": map[string]any{
				"prefix": map[string]any{}, "suffix": map[string]any{"value": map[string]any{"simple": "Z"}},
			}}},
		}},
	}
	for _, f := range mappedFields {
		internal[f.Name] = mapping(f)
	}
	return jsonFile(map[string]any{
		"id": MapperID, "name": MapperID, "type": "mapping-incoming", "version": -1, "fromVersion": fromVersion,
		"description":         "Maps Office 365 audit records fetched by the Microsoft Management Activity API integration to the " + IncidentType + " incident fields.",
		"defaultIncidentType": IncidentType,
		"mapping": map[string]any{IncidentType: map[string]any{
			"dontMapEventToLabels": false, "internalMapping": internal,
		}},
		"feed": false,
	})
}

// mapping is f's internalMapping entry: the record's key, or, with
// fallbacks, a complex mapping rooted at the key with one SetIfEmpty
// transformer per fallback. SetIfEmpty (Filters And Transformers pack)
// returns its defaultValue when the value is empty; applyIfEmpty makes ""
// count as empty (Exchange sends ClientIP ""), and isContext makes the
// defaultValue the fallback key's value in the incoming record, not the
// literal name.
func mapping(f mappedField) map[string]any {
	if len(f.Fallbacks) == 0 {
		return map[string]any{"simple": f.Record}
	}
	transformers := []any{}
	for _, k := range f.Fallbacks {
		transformers = append(transformers, map[string]any{"operator": "SetIfEmpty", "args": map[string]any{
			"applyIfEmpty": map[string]any{"isContext": false, "value": map[string]any{"simple": "true"}},
			"defaultValue": map[string]any{"isContext": true, "value": map[string]any{"simple": k}},
		}})
	}
	return map[string]any{"complex": map[string]any{
		"root": f.Record, "accessor": "", "filters": []any{}, "transformers": transformers,
	}}
}

func packMetadataJSON(description string) []byte {
	return jsonFile(map[string]any{
		"name":           PackDisplay,
		"description":    description,
		"support":        "community",
		"currentVersion": PackVersion,
		"author":         "secops-go",
		"url":            "https://github.com/secops-go/ms-management-activity",
		"email":          "",
		"created":        "2026-12-02T00:00:00Z",
		"categories":     []string{"Analytics & SIEM"},
		"tags":           []string{},
		"useCases":       []string{},
		"keywords":       []string{"Office 365", "Microsoft 365", "Management Activity API", "audit log", "O365"},
		"marketplaces":   []string{"xsoar", "xsoar_saas", "xsoar_on_prem"},
		"githubUser":     []string{},
		// The mapper's Source IP uses SetIfEmpty, a script of this core pack.
		"dependencies": map[string]any{
			"FiltersAndTransformers": map[string]any{"mandatory": true, "display_name": "Filters And Transformers"},
		},
	})
}

// testPlaybookYAML runs test-module, list-subscriptions (and checks that the
// Subscription context was set) and list-content on an instance of the
// integration.
func testPlaybookYAML(brand string) []byte {
	type task struct {
		id, name, kind, command, next, extra string
	}
	tasks := []task{
		{"0", "", "start", "", "1", ""},
		{"1", "DeleteContext", "regular", "DeleteContext", "2", "    scriptarguments:\n      all:\n        simple: \"yes\"\n"},
		{"2", "test-module", "regular", brand + "|||test-module", "3", ""},
		{"3", "ms-management-activity-list-subscriptions", "regular", brand + "|||ms-management-activity-list-subscriptions", "4", ""},
		{"4", "Subscriptions are in the context", "condition", "", "", "    conditions:\n    - label: \"yes\"\n      condition:\n      - - operator: isExists\n          left:\n            value:\n              simple: MicrosoftManagement.Subscription\n            iscontext: true\n"},
		{"5", "ms-management-activity-list-content", "regular", brand + "|||ms-management-activity-list-content", "6", "    scriptarguments:\n      content_type:\n        simple: Audit.General\n      limit:\n        simple: \"10\"\n"},
		{"6", "Done", "title", "", "", ""},
	}
	var b strings.Builder
	fmt.Fprintf(&b, "id: %s\nversion: -1\nname: %s\ndescription: Runs test-module, ms-management-activity-list-subscriptions and ms-management-activity-list-content on an instance of %s.\nfromversion: %s\nstarttaskid: \"0\"\ntasks:\n", TestPlaybook, TestPlaybook, brand, fromVersion)
	for i, t := range tasks {
		uuid := fmt.Sprintf("6d5a0c0e-1f6b-4b8e-9c1a-00000000000%d", i)
		fmt.Fprintf(&b, "  %q:\n    id: %q\n    taskid: %s\n    type: %s\n    task:\n      id: %s\n      version: -1\n      name: %s\n", t.id, t.id, uuid, t.kind, uuid, yamlString(t.name))
		switch {
		case t.kind == "regular" && strings.Contains(t.command, "|||"):
			fmt.Fprintf(&b, "      script: %s\n      type: regular\n      iscommand: true\n      brand: %s\n", yamlString(t.command), yamlString(brand))
		case t.kind == "regular":
			fmt.Fprintf(&b, "      scriptName: %s\n      type: regular\n      iscommand: false\n      brand: \"\"\n", t.command)
		case t.kind == "condition":
			b.WriteString("      type: condition\n      iscommand: false\n      brand: \"\"\n")
		default:
			fmt.Fprintf(&b, "      type: %s\n      iscommand: false\n      brand: \"\"\n", t.kind)
		}
		switch {
		case t.kind == "condition":
			b.WriteString("    nexttasks:\n      \"yes\":\n      - \"5\"\n")
		case t.next != "":
			fmt.Fprintf(&b, "    nexttasks:\n      '#none#':\n      - %q\n", t.next)
		}
		b.WriteString(t.extra)
		fmt.Fprintf(&b, "    separatecontext: false\n    view: |-\n      {\n        \"position\": {\n          \"x\": 50,\n          \"y\": %d\n        }\n      }\n    note: false\n    timertriggers: []\n    ignoreworker: false\n    skipunavailable: false\n    quietmode: 0\n", 50+i*180)
	}
	fmt.Fprintf(&b, "view: |-\n  {\n    \"linkLabelsPosition\": {},\n    \"paper\": {\n      \"dimensions\": {\n        \"height\": %d,\n        \"width\": 380,\n        \"x\": 50,\n        \"y\": 50\n      }\n    }\n  }\ninputs: []\noutputs: []\n", len(tasks)*180)
	return []byte(b.String())
}

// yamlString quotes s as a YAML double-quoted scalar (JSON's quoting is
// valid YAML).
func yamlString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
