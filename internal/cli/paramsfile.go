package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/secops-go/ms-management-activity/internal/suggest"
)

// envParam is an environment variable that fills an instance parameter, so
// that secrets need not be written in a params file.
type envParam struct {
	Env, Param, Doc string
	Secret          bool
}

var envParams = []envParam{
	{"MSMA_CLIENT_ID", "credentials_auth_id", "Application (client) ID of the Azure app registration.", false},
	{"MSMA_TENANT_ID", "credentials_refresh_token", "Tenant ID (directory ID), for a self-deployed app or managed identities.", false},
	{"MSMA_TOKEN", "credentials_refresh_token", "The Cortex XSOAR application's token (when not self-deployed); do not combine with MSMA_TENANT_ID.", true},
	{"MSMA_CLIENT_SECRET", "credentials_enc_key", "Client secret of a self-deployed app (or the key of the Cortex XSOAR application).", true},
	{"MSMA_CERTIFICATE_THUMBPRINT", "credentials_certificate_thumbprint", "Thumbprint of the app's certificate (certificate authentication).", true},
	{"MSMA_PRIVATE_KEY", "private_key", "PEM private key of that certificate (or MSMA_PRIVATE_KEY_FILE=path).", true},
	{"MSMA_AUTH_CODE", "credentials_auth_code", "Authorization code (authorization code flow, see generate-login-url).", true},
	{"MSMA_MANAGED_IDENTITIES_CLIENT_ID", "managed_identities_client_id", "Client ID of a user-assigned managed identity.", false},
}

// loadParams reads a params file (JSON or YAML, keyed by integration.yml's
// parameter names) and applies the MSMA_* environment variables. It returns
// the params and the secret values that came from the environment.
func loadParams(c catalog, file string, getenv func(string) string) (map[string]any, []string, error) {
	p := map[string]any{}
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, nil, &usageError{fmt.Sprintf("cannot read the params file: %v", err), `the params file holds the instance parameters as JSON or YAML, e.g. base_url: https://manage.office.com/api/v1.0/ (see "ms-management-activity help params")`}
		}
		if err := decodeParams(file, data, &p); err != nil {
			return nil, nil, err
		}
		if p == nil {
			p = map[string]any{}
		}
		var names []string
		for _, c := range c.Configuration {
			names = append(names, c.Name)
		}
		keys := make([]string, 0, len(p))
		for k := range p {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !slices.Contains(names, k) {
				hint := `see "ms-management-activity help params" for the names`
				if s := suggest.Closest(k, names); s != "" {
					hint = fmt.Sprintf("did you mean %s? (%s)", s, hint)
				}
				return nil, nil, &usageError{fmt.Sprintf("%s: unknown parameter %q", file, k), hint}
			}
		}
	}
	var secrets []string
	if getenv("MSMA_TENANT_ID") != "" && getenv("MSMA_TOKEN") != "" {
		return nil, nil, &usageError{"both MSMA_TENANT_ID and MSMA_TOKEN are set", "they fill the same parameter (credentials_refresh_token): set MSMA_TENANT_ID for a self-deployed app, MSMA_TOKEN for the Cortex XSOAR application"}
	}
	for _, e := range envParams {
		v := getenv(e.Env)
		if v == "" {
			continue
		}
		p[e.Param] = v
		if e.Secret {
			secrets = append(secrets, v)
		}
	}
	if f := getenv("MSMA_PRIVATE_KEY_FILE"); f != "" && getenv("MSMA_PRIVATE_KEY") == "" {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, &usageError{fmt.Sprintf("cannot read MSMA_PRIVATE_KEY_FILE: %v", err), "it must be the path of the certificate's PEM private key"}
		}
		p["private_key"] = string(data)
		secrets = append(secrets, string(data))
	}
	return p, secrets, nil
}

func decodeParams(file string, data []byte, out *map[string]any) error {
	trimmed := bytes.TrimSpace(data)
	if strings.EqualFold(filepath.Ext(file), ".json") || (len(trimmed) > 0 && trimmed[0] == '{') {
		if err := json.Unmarshal(trimmed, out); err != nil {
			return &usageError{fmt.Sprintf("%s is not a JSON object of parameters: %v", file, err), `e.g. {"base_url": "https://manage.office.com/api/v1.0/", "self_deployed": true}`}
		}
		return nil
	}
	if err := yaml.Unmarshal(data, out); err != nil {
		return &usageError{fmt.Sprintf("%s is not a YAML mapping of parameters: %v", file, err), "e.g. base_url: https://manage.office.com/api/v1.0/"}
	}
	return nil
}
