package activity

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/secops-go/ms-management-activity/internal/suggest"
)

// RecordType is an AuditLogRecordType value (MS-SCHEMA). The enum is open:
// Microsoft keeps adding values, so any int is a valid RecordType and those
// this table does not know render as Unknown(N).
type RecordType int

// String returns the enum name, e.g. "MicrosoftTeams", or "Unknown(N)".
func (t RecordType) String() string {
	if name, ok := recordTypeNames[t]; ok {
		return name
	}
	return "Unknown(" + strconv.Itoa(int(t)) + ")"
}

// Known reports whether t is in this build's copy of the enum.
func (t RecordType) Known() bool {
	_, ok := recordTypeNames[t]
	return ok
}

// recordTypeTable is the AuditLogRecordType enum as published in MS-SCHEMA
// (2026-06, 257 values; the gaps are real).
var recordTypeTable = []struct {
	n    RecordType
	name string
}{
	{1, "ExchangeAdmin"},
	{2, "ExchangeItem"},
	{3, "ExchangeItemGroup"},
	{4, "SharePoint"},
	{6, "SharePointFileOperation"},
	{7, "OneDrive"},
	{8, "AzureActiveDirectory"},
	{9, "AzureActiveDirectoryAccountLogon"},
	{10, "DataCenterSecurityCmdlet"},
	{11, "ComplianceDLPSharePoint"},
	{13, "ComplianceDLPExchange"},
	{14, "SharePointSharingOperation"},
	{15, "AzureActiveDirectoryStsLogon"},
	{16, "SkypeForBusinessPSTNUsage"},
	{17, "SkypeForBusinessUsersBlocked"},
	{18, "SecurityComplianceCenterEOPCmdlet"},
	{19, "ExchangeAggregatedOperation"},
	{20, "PowerBIAudit"},
	{21, "CRM"},
	{22, "Viva Engage"},
	{23, "SkypeForBusinessCmdlets"},
	{24, "Discovery"},
	{25, "MicrosoftTeams"},
	{28, "ThreatIntelligence"},
	{29, "MailSubmission"},
	{30, "MicrosoftFlow"},
	{31, "AeD"},
	{32, "MicrosoftStream"},
	{33, "ComplianceDLPSharePointClassification"},
	{34, "ThreatFinder"},
	{35, "Project"},
	{36, "SharePointListOperation"},
	{37, "SharePointCommentOperation"},
	{38, "DataGovernance"},
	{39, "Kaizala"},
	{40, "SecurityComplianceAlerts"},
	{41, "ThreatIntelligenceUrl"},
	{42, "SecurityComplianceInsights"},
	{43, "MIPLabel"},
	{44, "VivaInsights"},
	{45, "PowerAppsApp"},
	{46, "PowerAppsPlan"},
	{47, "ThreatIntelligenceAtpContent"},
	{48, "LabelContentExplorer"},
	{49, "TeamsHealthcare"},
	{50, "ExchangeItemAggregated"},
	{51, "HygieneEvent"},
	{52, "DataInsightsRestApiAudit"},
	{53, "InformationBarrierPolicyApplication"},
	{54, "SharePointListItemOperation"},
	{55, "SharePointContentTypeOperation"},
	{56, "SharePointFieldOperation"},
	{57, "MicrosoftTeamsAdmin"},
	{58, "HRSignal"},
	{59, "MicrosoftTeamsDevice"},
	{60, "MicrosoftTeamsAnalytics"},
	{61, "InformationWorkerProtection"},
	{62, "Campaign"},
	{63, "DLPEndpoint"},
	{64, "AirInvestigation"},
	{65, "Quarantine"},
	{66, "MicrosoftForms"},
	{67, "ApplicationAudit"},
	{68, "ComplianceSupervisionExchange"},
	{69, "CustomerKeyServiceEncryption"},
	{70, "OfficeNative"},
	{71, "MipAutoLabelSharePointItem"},
	{72, "MipAutoLabelSharePointPolicyLocation"},
	{73, "MicrosoftTeamsShifts"},
	{75, "MipAutoLabelExchangeItem"},
	{76, "CortanaBriefing"},
	{78, "WDATPAlerts"},
	{79, "PowerAppsResource"},
	{82, "SensitivityLabelPolicyMatch"},
	{83, "SensitivityLabelAction"},
	{84, "SensitivityLabeledFileAction"},
	{85, "AttackSim"},
	{86, "AirManualInvestigation"},
	{87, "SecurityComplianceRBAC"},
	{88, "UserTraining"},
	{89, "AirAdminActionInvestigation"},
	{90, "MSTIC"},
	{91, "PhysicalBadgingSignal"},
	{92, "TeamsEasyApprovals"},
	{93, "AipDiscover"},
	{94, "AipSensitivityLabelAction"},
	{95, "AipProtectionAction"},
	{96, "AipFileDeleted"},
	{97, "AipHeartBeat"},
	{98, "MCASAlerts"},
	{99, "OnPremisesFileShareScannerDlp"},
	{100, "OnPremisesSharePointScannerDlp"},
	{101, "ExchangeSearch"},
	{102, "SharePointSearch"},
	{103, "PrivacyInsights"},
	{105, "MyAnalyticsSettings"},
	{106, "SecurityComplianceUserChange"},
	{107, "ComplianceDLPExchangeClassification"},
	{109, "MipExactDataMatch"},
	{113, "MS365DCustomDetection"},
	{147, "CoreReportingSettings"},
	{148, "ComplianceConnector"},
	{154, "OMEPortal"},
	{157, "MipLabelAnalyticsAuditRecord"},
	{164, "ScorePlatformGenericAuditRecord"},
	{174, "DataShareOperation"},
	{181, "EduDataLakeDownloadOperation"},
	{183, "MicrosoftGraphDataConnectOperation"},
	{186, "PowerPagesSite"},
	{187, "PowerPlatformAdminDlp"},
	{188, "PlannerPlan"},
	{189, "PlannerCopyPlan"},
	{190, "PlannerTask"},
	{191, "PlannerRoster"},
	{192, "PlannerPlanList"},
	{193, "PlannerTaskList"},
	{194, "PlannerTenantSettings"},
	{195, "ProjectForThewebProject"},
	{196, "ProjectForThewebTask"},
	{197, "ProjectForThewebRoadmap"},
	{198, "ProjectForThewebRoadmapItem"},
	{199, "ProjectForThewebProjectSettings"},
	{200, "ProjectForThewebRoadmapSettings"},
	{202, "MicrosoftTodoAudit"},
	{206, "MicrosoftTeamsSensitivityLabelAction"},
	{216, "Viva Goals"},
	{217, "MicrosoftGraphDataConnectConsent"},
	{218, "AttackSimAdmin"},
	{230, "TeamsUpdates"},
	{231, "PlannerRosterSensitivityLabel"},
	{235, "MicrosoftDefenderForIdentityAudit"},
	{237, "DefenderExpertsforXDRAdmin"},
	{251, "VfamCreatePolicy"},
	{252, "VfamUpdatePolicy"},
	{253, "VfamDeletePolicy"},
	{256, "PowerPlatformAdministratorActivity"},
	{257, "Windows365CustomerLockbox"},
	{261, "CopilotInteraction"},
	{265, "VivaLearning"},
	{266, "VivaLearningAdmin"},
	{269, "PeopleAdminSettings"},
	{275, "OWAAuth"},
	{277, "SharePointESignature"},
	{278, "Dynamics365BusinessCentral"},
	{279, "MeshWorlds"},
	{280, "VivaPulseResponse"},
	{281, "VivaPulseOrganizer"},
	{282, "VivaPulseAdmin"},
	{283, "VivaPulseReport"},
	{284, "AIAppInteraction"},
	{285, "ComplianceDLMExchange"},
	{286, "ComplianceDLMSharePoint"},
	{287, "ProjectForThewebAssignedToMeSettings"},
	{288, "CloudPolicyService"},
	{291, "SensitiveInfoDiscovered"},
	{292, "InsiderRiskScopedUserInsights"},
	{293, "MicrosoftTeamsRetentionLabelAction"},
	{294, "AadRiskDetection"},
	{295, "AuditSearch"},
	{296, "AuditRetentionPolicy"},
	{297, "AuditConfig"},
	{298, "BackupPolicy"},
	{299, "RestoreTask"},
	{300, "RestoreItem"},
	{301, "BackupItem"},
	{302, "URBACAssignment"},
	{303, "URBACRole"},
	{304, "URBACEnableState"},
	{306, "PurviewInsiderRiskCases"},
	{307, "PurviewInsiderRiskAlerts"},
	{308, "InsiderRiskScopedUsers"},
	{310, "CreateCopilotPlugin"},
	{311, "UpdateCopilotPlugin"},
	{312, "DeleteCopilotPlugin"},
	{313, "EnableCopilotPlugin"},
	{314, "DisableCopilotPlugin"},
	{315, "CreateCopilotWorkspace"},
	{316, "UpdateCopilotWorkspace"},
	{317, "DeleteCopilotWorkspace"},
	{318, "EnableCopilotWorkspace"},
	{319, "DisableCopilotWorkspace"},
	{320, "CreateCopilotPromptBook"},
	{321, "UpdateCopilotPromptBook"},
	{322, "DeleteCopilotPromptBook"},
	{323, "EnableCopilotPromptBook"},
	{324, "DisableCopilotPromptBook"},
	{325, "UpdateCopilotSettings"},
	{328, "ConnectedAIAppInteraction"},
	{329, "PrivaPrivacyConsentOperation"},
	{330, "PrivaPrivacyAssessmentOperation"},
	{331, "DataCatalogAccessRequests"},
	{332, "ComplianceSettingsChange"},
	{333, "DataSecurityInvestigation"},
	{334, "TeamCopilotInteraction"},
	{335, "IRMActivityAuditTrail"},
	{336, "SharePointContentSecurityPolicy"},
	{337, "CloudUpdateProfileConfig"},
	{338, "CloudUpdateTenantConfig"},
	{339, "CloudUpdateDeviceConfig"},
	{341, "DeviceDiscoverySettingsExclusion"},
	{342, "DeviceDiscoverySettingsAuthenticatedScans"},
	{344, "DeviceDiscoverySettings"},
	{345, "USXWorkspaceOnboarding"},
	{346, "VivaGlintAdvancedConfiguration"},
	{347, "VivaGlintPulseProgram"},
	{348, "VivaGlintPulseProgramRespondentRate"},
	{349, "VivaGlintQuestion"},
	{350, "VivaGlintRole"},
	{351, "VivaGlintRubicon"},
	{352, "VivaGlintSupportAccess"},
	{353, "VivaGlintSystem"},
	{354, "VivaGlintUser"},
	{355, "VivaGlintUserGroup"},
	{356, "VivaGlintFeedbackProgram"},
	{357, "FabricAudit"},
	{358, "TrainableClassifier"},
	{359, "WebContentFiltering"},
	{360, "NoisyAlertPolicy"},
	{361, "DataScanClassification"},
	{362, "AIInteractionsExport"},
	{363, "Microsoft365CopilotScheduledPrompt"},
	{364, "PlacesDirectory"},
	{365, "SentinelNotebookOnLake"},
	{366, "SentinelJob"},
	{367, "SentinelKQLOnLake"},
	{368, "SentinelLakeOnboarding"},
	{369, "SentinelLakeDataOnboarding"},
	{370, "SentinelAITool"},
	{371, "SentinelGraph"},
	{372, "CrossTenantAccessPolicy"},
	{373, "OutlookCopilotAutomation"},
	{374, "VivaEngageNetworkAssociation"},
	{375, "AppAdminActivity"},
	{376, "AppSettingsAdminActivity"},
	{377, "UniversalPrintPrintJob"},
	{378, "VivaAmplifyOutlookSensitivityLabel"},
	{379, "AIInteractionsSubscription"},
	{380, "AIInteractionsChangeNotification"},
	{381, "FilteringMailMetadataExtended"},
	{382, "OfficeRestrictedModeAction"},
	{383, "CopilotForSecurityTrigger"},
	{384, "CopilotAgentManagement"},
	{385, "P4AIAssessmentFabricScannerRecord"},
	{386, "PlannerGoal"},
	{387, "PlannerGoalList"},
	{401, "PlannerChatMessage"},
	{402, "PlannerChatMessageList"},
	{414, "VivaEngageSegment"},
	{422, "VivaEngageEvents"},
	{427, "UniversalPrintManagement"},
	{430, "PurviewPostureAgent"},
	{431, "GranularBrowseTask"},
	{444, "TeamsEvalDataHubDataAccess"},
	{445, "TeamsEvalDataHubPermissionChange"},
	{454, "DragonCopilotAdmin"},
	{462, "MicrosoftTeamsUserConcern"},
	{463, "VivaGlintAgenticCampaign"},
}

// recordTypeAliases are older names still accepted in filters: the
// reference integration's table uses them, so users switching over keep
// working filters.
var recordTypeAliases = map[string]RecordType{
	"Yammer":             22,
	"Sway":               12,
	"WorkplaceAnalytics": 44,
}

var (
	recordTypeNames  = map[RecordType]string{}
	recordTypeByName = map[string]RecordType{} // normalised name → value
	recordTypeKeys   []string                  // display names, for suggestions
)

func init() {
	for _, e := range recordTypeTable {
		recordTypeNames[e.n] = e.name
		recordTypeByName[normalizeTypeName(e.name)] = e.n
		recordTypeKeys = append(recordTypeKeys, e.name)
	}
	for name, n := range recordTypeAliases {
		recordTypeByName[normalizeTypeName(name)] = n
		recordTypeKeys = append(recordTypeKeys, name)
	}
	sort.Strings(recordTypeKeys)
}

// normalizeTypeName folds case and drops spaces, so "viva engage",
// "VivaEngage" and "Viva Engage" are one name.
func normalizeTypeName(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), ""))
}

// ParseRecordType reads a record type given by name (case-insensitive,
// spaces ignored, historical names such as "Yammer" accepted) or by number.
// An unknown name is an error that suggests the closest known names.
func ParseRecordType(s string) (RecordType, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty record type")
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("record type %d is negative; record types are names such as MicrosoftTeams or non-negative numbers such as 25", n)
		}
		return RecordType(n), nil
	}
	if t, ok := recordTypeByName[normalizeTypeName(s)]; ok {
		return t, nil
	}
	msg := fmt.Sprintf("%q is not a record type of the Management Activity API", s)
	if sug := SuggestRecordTypes(s, 3); len(sug) > 0 {
		msg += "; did you mean " + strings.Join(sug, ", ") + "?"
	}
	return 0, fmt.Errorf("%s (names are case-insensitive; numbers such as 25 are accepted too)", msg)
}

// SuggestRecordTypes returns up to max known names closest to s (edit
// distance on the normalised names; names containing s come first).
func SuggestRecordTypes(s string, max int) []string {
	q := normalizeTypeName(s)
	if q == "" {
		return nil
	}
	type cand struct {
		name string
		d    int
	}
	var cands []cand
	for _, name := range recordTypeKeys {
		k := normalizeTypeName(name)
		d := suggest.Distance(q, k)
		limit := len(q)/3 + 1
		if limit < 2 {
			limit = 2
		}
		switch {
		case strings.Contains(k, q) && len(q) >= 3:
			cands = append(cands, cand{name, d - 100}) // substrings rank first
		case d <= limit:
			cands = append(cands, cand{name, d})
		}
	}
	sort.SliceStable(cands, func(i, j int) bool {
		if cands[i].d != cands[j].d {
			return cands[i].d < cands[j].d
		}
		return cands[i].name < cands[j].name
	})
	var out []string
	for _, c := range cands {
		if len(out) == max {
			break
		}
		out = append(out, c.name)
	}
	return out
}
