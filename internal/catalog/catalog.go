// Package catalog holds the value sets of the Office 365 Management
// Activity API that users name in commands and parameters — content types,
// record types, workloads and the operations Microsoft documents per
// workload — once, for the client, the commands and the emulator, with
// "did you mean" suggestions.
//
// Sources: the Management Activity API reference (content types), MS-SCHEMA
// (AuditLogRecordType, the Workload and Operation fields) and Microsoft
// Purview's "Audit log activities" list (operations per workload), plus
// values seen in real records. Microsoft adds workloads and operations
// without notice, so the sets are open: callers accept an unknown value
// when the user marks it as meant (see package activity's filters).
package catalog

import (
	"slices"
	"strings"
	"sync"
)

// ContentTypes are the five content types of the API, canonically spelled,
// in the order fetches merge ties.
var ContentTypes = []string{"Audit.AzureActiveDirectory", "Audit.Exchange", "Audit.SharePoint", "Audit.General", "DLP.All"}

// Workloads are the values of the records' Workload field that Microsoft
// documents or that real records carry. No two differ only in case.
var Workloads = []string{
	"AeD", "AzureActiveDirectory", "CRM", "Compliance", "Copilot", "Dynamics365", "Endpoint", "Exchange",
	"Kaizala", "MicrosoftFlow", "MicrosoftForms", "MicrosoftStream", "MicrosoftTeams", "MicrosoftTodo",
	"MicrosoftDefenderForIdentity", "Microsoft365Defender", "MyAnalytics", "OfficeNative", "OneDrive", "Planner",
	"PowerApps", "PowerBI", "PowerPlatform", "Project", "PublicEndpoint", "Quarantine", "SecurityComplianceCenter",
	"SharePoint", "Sway", "ThreatIntelligence", "Viva Goals", "VivaEngage", "VivaGlint", "VivaLearning", "VivaPulse",
	"Windows365", "Yammer",
}

// dlpOperations are the operations of DLP.All records (MS-SCHEMA's DLP
// schema), whatever their workload. Note the case: the DLP feed writes
// DlpRuleMatch; Exchange's own auditing writes DLPRuleMatch (below).
var dlpOperations = []string{"DlpRuleMatch", "DlpRuleUndo", "DlpInfo"}

// sharePointOperations are shared by SharePoint and OneDrive (one service,
// two workload names).
var sharePointOperations = []string{
	// File and page activities.
	"FileAccessed", "FileAccessedExtended", "FileCheckedIn", "FileCheckedOut", "FileCheckOutDiscarded", "FileCopied",
	"FileDeleted", "FileDeletedFirstStageRecycleBin", "FileDeletedSecondStageRecycleBin", "FileDownloaded",
	"FileModified", "FileModifiedExtended", "FileMoved", "FilePreviewed", "FileRecycled", "FileRenamed",
	"FileRestored", "FileSensitivityLabelApplied", "FileSensitivityLabelChanged", "FileSensitivityLabelRemoved",
	"FileUploaded", "FileVersionsAllDeleted", "FileVersionRecycled", "FileVersionRestored", "FileSyncDownloadedFull",
	"FileSyncDownloadedPartial", "FileSyncUploadedFull", "FileSyncUploadedPartial", "FileMalwareDetected",
	"PageViewed", "PageViewedExtended", "PagePrefetched", "ClientViewSignaled", "ComplianceSettingChanged",
	"LockRecord", "UnlockRecord", "SearchQueryPerformed", "ViewSignaled",
	// Folder activities.
	"FolderCopied", "FolderCreated", "FolderDeleted", "FolderDeletedFirstStageRecycleBin",
	"FolderDeletedSecondStageRecycleBin", "FolderModified", "FolderMoved", "FolderRecycled", "FolderRenamed",
	"FolderRestored",
	// Sharing and access requests.
	"AccessInvitationAccepted", "AccessInvitationCreated", "AccessInvitationExpired", "AccessInvitationRevoked",
	"AccessInvitationUpdated", "AccessRequestAccepted", "AccessRequestCreated", "AccessRequestDenied",
	"AccessRequestUpdated", "AddedToSecureLink", "AnonymousLinkCreated", "AnonymousLinkRemoved",
	"AnonymousLinkUpdated", "AnonymousLinkUsed", "CompanyLinkCreated", "CompanyLinkRemoved", "CompanyLinkUsed",
	"RemovedFromSecureLink", "SecureLinkCreated", "SecureLinkDeleted", "SecureLinkUsed", "SharingInheritanceBroken",
	"SharingInheritanceReset", "SharingInvitationAccepted", "SharingInvitationBlocked", "SharingInvitationCreated",
	"SharingInvitationRevoked", "SharingInvitationUpdated", "SharingPolicyChanged", "SharingRevoked", "SharingSet",
	"UserExpirationChanged",
	// Lists.
	"ListCreated", "ListColumnCreated", "ListColumnDeleted", "ListColumnUpdated", "ListContentTypeCreated",
	"ListContentTypeDeleted", "ListContentTypeUpdated", "ListDeleted", "ListItemCreated", "ListItemDeleted",
	"ListItemRecycled", "ListItemRestored", "ListItemUpdated", "ListItemViewed", "ListRecycled", "ListRestored",
	"ListUpdated", "ListViewed",
	// Sync, sites and administration.
	"ManagedSyncClientAllowed", "UnmanagedSyncClientBlocked", "FileSyncDownloadBlocked",
	"AllowedDataLocationAdded", "GeoAdminAdded", "SiteCollectionAdminAdded", "SiteCollectionAdminRemoved",
	"SiteCollectionCreated", "SiteCollectionQuotaModified", "SiteDeleted", "SiteRenamed", "SiteLocksChanged",
	"SiteAdminChangeRequest", "SiteGeoMoveCompleted", "SiteGeoMoveScheduled", "SitePermissionsModified",
	"PermissionLevelAdded", "PermissionLevelModified", "PermissionLevelRemoved", "PermissionLevelsInheritanceBroken",
	"GroupAdded", "GroupRemoved", "GroupUpdated", "AddedToGroup", "RemovedFromGroup", "WebRequestAccessModified",
	"WebMembersCanShareModified", "SharingPolicyChanged", "NewsFeedEnabledSet", "PreviewModeEnabledSet",
	"SearchExportDownloaded", "SearchViewed", "SensitivityLabelApplied", "SensitivityLabelChanged",
	"SensitivityLabelRemoved", "DocumentSensitivityMismatchDetected", "FileSensitivityLabelRemoved",
	"DeviceAccessPolicyChanged", "NetworkAccessPolicyChanged", "ExemptUserAgentSet", "CustomizeExemptUsers",
	"SiteCollectionAdminAdded",
}

// exchangeMailboxOperations are Exchange mailbox audit actions.
var exchangeMailboxOperations = []string{
	"AddFolderPermissions", "ApplyRecord", "AttachmentAccess", "Copy", "Create", "FolderBind", "HardDelete",
	"MailboxLogin", "MailItemsAccessed", "MessageBind", "ModifyFolderPermissions", "Move", "MoveToDeletedItems",
	"RecordDelete", "RemoveFolderPermissions", "SearchQueryInitiated", "Send", "SendAs", "SendOnBehalf",
	"SoftDelete", "Update", "UpdateCalendarDelegation", "UpdateComplianceTag", "UpdateFolderPermissions",
	"UpdateInboxRules", "AddMailboxPermission", "RemoveMailboxPermission", "PreservedMailItemProactively",
	"DLPRuleMatch", "DLPRuleUndo", "TIMailData", "TIUrlClickData", "AlertEntityGenerated", "AlertTriggered",
	"AlertUpdated", "AtpDetection", "QuarantineRelease", "QuarantinePreview", "QuarantineDelete",
}

// azureADOperations are Microsoft Entra ID (Azure AD) audit and sign-in
// operations; directory audit activities end with a period, as the API
// writes them.
var azureADOperations = []string{
	"UserLoggedIn", "UserLoginFailed",
	"Add user.", "Update user.", "Delete user.", "Restore user.", "Reset user password.", "Change user password.",
	"Change user license.", "Set license properties.", "Set force change user password.",
	"Set property that requires user to change password.", "Disable account.", "Enable account.",
	"Add member to role.", "Remove member from role.", "Set company contact information.", "Set company information.",
	"Add group.", "Update group.", "Delete group.", "Add member to group.", "Remove member from group.",
	"Add owner to group.", "Remove owner from group.",
	"Add application.", "Update application.", "Delete application.", "Add service principal.",
	"Remove service principal.", "Update service principal.", "Add service principal credentials.",
	"Remove service principal credentials.", "Add delegation entry.", "Remove delegation entry.",
	"Set delegation entry.", "Consent to application.", "Add app role assignment to service principal.",
	"Add app role assignment grant to user.", "Add OAuth2PermissionGrant.", "Remove OAuth2PermissionGrant.",
	"Add owner to application.", "Add owner to service principal.",
	"Add domain to company.", "Remove domain from company.", "Verify domain.", "Set domain authentication.",
	"Update domain.", "Set federation settings on domain.", "Add partner to company.", "Remove partner from company.",
	"Add device.", "Update device.", "Delete device.", "Add registered owner to device.",
	"Add registered users to device.", "Add policy.", "Update policy.", "Delete policy.",
	"Add conditional access policy.", "Update conditional access policy.", "Delete conditional access policy.",
	"Update StsRefreshTokenValidFrom Timestamp.", "User registered security info.", "User deleted security info.",
	"User changed default security info.", "Admin registered security info.", "Admin deleted security info.",
}

// teamsOperations are Microsoft Teams activities.
var teamsOperations = []string{
	"AppInstalled", "AppUninstalled", "AppUpgraded", "BotAddedToTeam", "BotRemovedFromTeam", "ChannelAdded",
	"ChannelDeleted", "ChannelOwnerResponded", "ChannelSettingChanged", "ChatCreated", "ChatRetrieved",
	"ChatUpdated", "ConnectorAdded", "ConnectorRemoved", "ConnectorUpdated", "FileAccessed", "MeetingDetail",
	"MeetingParticipantDetail", "MemberAdded", "MemberRemoved", "MemberRoleChanged", "MessageCreatedHasLink",
	"MessageDeleted", "MessageEditedHasLink", "MessageHostedContentsListed", "MessageRead", "MessageSent",
	"MessageUpdated", "MessagesExported", "MessagesListed", "OrganizationSettingChanged", "ReactedToMessage",
	"RecordingExported", "SensitivityLabelApplied", "SensitivityLabelChanged", "SubscribedToMessages",
	"TabAdded", "TabRemoved", "TabUpdated", "TeamCreated", "TeamDeleted", "TeamSettingChanged",
	"TeamsAdminAction", "TeamsSessionStarted", "TranscriptsExported", "MessageCreatedNotification",
	"MeetingCreated", "MeetingUpdated", "MeetingStarted", "MeetingEnded", "InviteeResponded",
}

// powerBIOperations are Power BI activities (the most common of several
// hundred; the rest need the escape).
var powerBIOperations = []string{
	"AddDatasourceToGateway", "AddGroupMembers", "AnalyzedByExternalApplication", "AnalyzeInExcel",
	"ChangeCapacityState", "CreateApp", "CreateDashboard", "CreateDataflow", "CreateDataset", "CreateGateway",
	"CreateGroup", "CreateReport", "DeleteDashboard", "DeleteDataset", "DeleteReport", "DownloadReport",
	"EditDashboard", "EditDataset", "EditReport", "ExportArtifact", "ExportDataflow", "ExportReport", "ExportTile",
	"GenerateEmbedToken", "GetDatasources", "GetSnapshots", "Import", "PrintDashboard", "PrintReport",
	"PublishToWebReport", "RefreshDataset", "RenameDashboard", "ShareDashboard", "ShareDataset", "ShareReport",
	"UpdateApp", "UpdateDatasetParameters", "ViewDashboard", "ViewDataflow", "ViewReport", "ViewTile", "ViewUsageMetrics",
}

// copilotOperations are Copilot and AI application interactions.
var copilotOperations = []string{"CopilotInteraction", "AIAppInteraction", "ConnectedAIAppInteraction", "TeamCopilotInteraction"}

// securityComplianceOperations are the Security & Compliance Center's
// non-cmdlet activities (its cmdlets are Verb-Noun, see IsCmdlet).
var securityComplianceOperations = []string{
	"AlertEntityGenerated", "AlertTriggered", "AlertUpdated", "SearchCreated", "SearchExported", "SearchPreviewed",
	"SearchPurged", "SearchReport", "SearchResultsPurged", "SearchResultsExported", "SearchStarted", "SearchStopped",
	"SearchRemoved", "SearchUpdated", "CaseAdded", "CaseRemoved", "CaseUpdated", "CaseMemberAdded", "CaseMemberRemoved",
	"HoldCreated", "HoldRemoved", "HoldUpdated", "ViewedSearchExported", "ViewedSearchPreviewed", "LabelApplied",
	"LabelChanged", "LabelRemoved", "ApplyRecordLabel",
}

// Operations are the operations Microsoft documents per workload (plus
// the cmdlet names of Exchange and Security & Compliance admin records,
// which IsCmdlet recognises). Matching is exact: DlpRuleMatch (DLP.All)
// and DLPRuleMatch (Exchange's auditing) are different operations.
var Operations = map[string][]string{
	"AzureActiveDirectory":         azureADOperations,
	"Exchange":                     concat(exchangeMailboxOperations, dlpOperations),
	"SharePoint":                   concat(sharePointOperations, dlpOperations),
	"OneDrive":                     concat(sharePointOperations, dlpOperations),
	"MicrosoftTeams":               concat(teamsOperations, dlpOperations),
	"Endpoint":                     concat(dlpOperations, []string{"FileCopiedToRemovableMedia", "FileUploadedToCloud", "FilePrinted", "FileCopiedToNetworkShare", "FileCreated", "FileRead", "FileRenamed", "FileDeleted", "FileModified", "FileArchived", "FileCopiedToClipboard", "FileTransferredByBluetooth", "FileAccessedByUnallowedApp", "RemovableMediaMount"}),
	"PowerBI":                      powerBIOperations,
	"Copilot":                      copilotOperations,
	"SecurityComplianceCenter":     securityComplianceOperations,
	"ThreatIntelligence":           {"TIMailData", "TIUrlClickData", "AtpDetection"},
	"Quarantine":                   {"QuarantineRelease", "QuarantinePreview", "QuarantineDelete", "QuarantineExport", "QuarantineViewHeader", "QuarantineReleaseRequest", "QuarantineRequestReleaseMessage"},
	"MicrosoftForms":               {"CreateForm", "EditForm", "DeleteForm", "ViewForm", "PreviewForm", "ExportForm", "AllowShareFormForCopy", "DisallowShareFormForCopy", "AddFormCoauthor", "RemoveFormCoauthor", "ViewRuntimeForm", "CreateResponse", "SubmitResponse", "ViewResponses", "ViewResponse", "EditResponse", "DeleteAllResponses", "DeleteResponse", "ViewSummary", "ListForms", "MoveForm", "GetSummaryLink", "DeleteSummaryLink", "UpdatePhishingStatus", "ConnectToExcelWorkbook", "CollectionCreated", "CollectionUpdated", "CollectionHardDeleted", "CollectionSoftDeleted", "CollectionRenamed", "MovedFormIntoCollection", "MovedFormOutofCollection", "ProInvitation", "ListResponses"},
	"MicrosoftStream":              {"StreamCreateVideo", "StreamEditVideo", "StreamDeleteVideo", "StreamUploadVideo", "StreamDownloadVideo", "StreamEditVideoPermissions", "StreamInvokeVideoView", "StreamInvokeVideoShare", "StreamInvokeVideoLike", "StreamInvokeVideoUnLike", "StreamCreateVideoComment", "StreamDeleteVideoComment", "StreamUploadVideoThumbnail", "StreamDeleteVideoThumbnail", "StreamCreateChannel", "StreamEditChannel", "StreamDeleteChannel", "StreamCreateGroup", "StreamEditGroup", "StreamDeleteGroup"},
	"MicrosoftFlow":                {"CreateFlow", "EditFlow", "DeleteFlow", "EditFlowPermissions", "DeleteFlowPermissions", "StartAPaidTrialOfFlow", "RenewTrialOfFlow"},
	"PowerApps":                    {"CreatePowerApp", "EditPowerApp", "DeletePowerApp", "LaunchPowerApp", "PublishPowerApp", "EditPowerAppPermission", "DeletePowerAppPermission", "MarkPowerAppAsFeatured", "MarkPowerAppAsHero", "RestorePowerApp"},
	"Yammer":                       {"DataExport", "DataRetentionPolicyChange", "FileCreated", "FileDeleted", "FileDownloaded", "FileUpdateDescription", "FileUpdateName", "FileVisited", "GroupCreation", "GroupDeletion", "MessageCreated", "MessageDeleted", "MessageUpdated", "NetworkConfigurationUpdated", "NetworkSecurityConfigurationUpdated", "SoftDeleteSettingsUpdated", "SupervisorAdminToggled", "ThreadViewed", "ProcessProfileFields"},
	"Sway":                         {"Create", "Delete", "View", "Edit", "Duplicate", "Share", "RevokeShare", "ChangeShareLevel", "EnableDuplication", "DisableDuplication", "ViewSettingsChanged", "SwayEnabled", "SwayDisabled", "ExternalSharingEnabled", "ExternalSharingDisabled", "PeopleWithLinkEnabled", "PeopleWithLinkDisabled"},
	"MicrosoftTodo":                {"TaskCreated", "TaskUpdated", "TaskDeleted", "TaskRead", "TaskListCreated", "TaskListUpdated", "TaskListDeleted", "TaskListRead", "AttachmentCreated", "AttachmentDeleted", "LinkedEntityCreated", "LinkedEntityDeleted", "LinkedEntityUpdated"},
	"Planner":                      {"PlanCreated", "PlanDeleted", "PlanModified", "PlanRead", "PlanListRead", "PlanCopied", "TaskCreated", "TaskDeleted", "TaskModified", "TaskRead", "TaskListRead", "TaskAssigned", "TaskCompleted", "RosterCreated", "RosterDeleted", "RosterMemberAdded", "RosterMemberDeleted", "TenantSettingsUpdated"},
	"MicrosoftDefenderForIdentity": {"ExclusionAdded", "ExclusionRemoved", "SensorAdded", "SensorRemoved", "SensorUpdated", "HealthAlertClosed"},
	"Dynamics365":                  {"Create", "Retrieve", "RetrieveMultiple", "Update", "Delete", "Assign", "Share", "Unshare", "Export", "Import"},
	"CRM":                          {"Create", "Retrieve", "RetrieveMultiple", "Update", "Delete", "Assign", "Share", "Unshare", "Export", "Import"},
	"Windows365":                   {"CustomerLockboxRequestApproved", "CustomerLockboxRequestDenied", "CustomerLockboxRequestCreated"},
}

func concat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// cmdletVerbs are the PowerShell verbs of Exchange and Security &
// Compliance admin cmdlets, whose records carry the cmdlet name
// (Set-Mailbox, New-InboxRule, …) as their operation.
var cmdletVerbs = []string{
	"Add", "Approve", "Clear", "Complete", "Connect", "Copy", "Disable", "Disconnect", "Dismount", "Enable",
	"Export", "Get", "Grant", "Import", "Install", "Invoke", "Mount", "Move", "New", "Publish", "Redirect",
	"Register", "Release", "Remove", "Repair", "Request", "Reset", "Restore", "Resume", "Retry", "Revoke", "Search",
	"Send", "Set", "Start", "Stop", "Suspend", "Test", "Undo", "Uninstall", "Unregister", "Update", "Upgrade",
	"Validate", "Write",
}

// IsCmdlet reports whether op has the shape of an admin cmdlet name, a
// known PowerShell verb, a hyphen and a noun (Set-Mailbox): Exchange admin
// records use the cmdlet as the operation, and there are too many cmdlets to
// list. The verb is checked exactly, so "Set-Mailbox" passes and
// "set-Mailbox" or "Sett-Mailbox" do not.
func IsCmdlet(op string) bool {
	verb, noun, ok := strings.Cut(op, "-")
	if !ok || noun == "" || !slices.Contains(cmdletVerbs, verb) {
		return false
	}
	if noun[0] < 'A' || noun[0] > 'Z' {
		return false
	}
	for _, c := range noun {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// OperationWorkloads returns the workloads documenting op, exactly as
// spelled (nil when none does; a cmdlet name gives Exchange and
// SecurityComplianceCenter).
func OperationWorkloads(op string) []string {
	var out []string
	for _, w := range Workloads {
		if slices.Contains(Operations[w], op) {
			out = append(out, w)
		}
	}
	if out == nil && IsCmdlet(op) {
		out = []string{"Exchange", "SecurityComplianceCenter"}
	}
	return out
}

// AllOperations returns every listed operation once, sorted. The slice is
// shared: do not modify it.
var AllOperations = sync.OnceValue(func() []string {
	var out []string
	for _, ops := range Operations {
		out = append(out, ops...)
	}
	slices.Sort(out)
	return slices.Compact(out)
})

// KnownOperation reports whether op, exactly as spelled, is a listed
// operation or a cmdlet name.
func KnownOperation(op string) bool {
	_, found := slices.BinarySearch(AllOperations(), op)
	return found || IsCmdlet(op)
}

// CanonicalWorkload returns the listed spelling of a workload given in any
// case, and false when w is not listed.
func CanonicalWorkload(w string) (string, bool) {
	for _, k := range Workloads {
		if strings.EqualFold(k, w) {
			return k, true
		}
	}
	return "", false
}
