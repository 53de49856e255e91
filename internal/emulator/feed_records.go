package emulator

import (
	"strconv"
	"strings"
	"sync"
	"time"
)

// Synthetic audit records: the common schema (MS-SCHEMA AuditRecord) plus
// workload-specific fields, nested objects, arrays, "stringly" JSON and
// numbers-as-strings, so clients meet unknown fields as they would live.

type demoUser struct {
	upn, display, puid, aadID string
}

var demoUsers = sync.OnceValue(func() []demoUser {
	first := []string{"adele", "alex", "allan", "christie", "debra", "diego", "emily", "enrico", "grady", "henrietta", "irvin", "isaiah", "johanna", "joni", "lee", "lidia", "lynne", "megan", "miriam", "nestor", "patti", "pradeep"}
	last := []string{"vance", "wilber", "deyoung", "cline", "berger", "siciliani", "braun", "cattaneo", "archie", "mueller", "sayers", "langer", "lorenz", "sherman", "gu", "holloway", "robbins", "bowen", "graham", "wilke", "fernandez", "gupta"}
	var out []demoUser
	for i, f := range first {
		for k, l := range last {
			seed := uint64(i*100 + k)
			out = append(out, demoUser{
				upn:     f + "." + l + "@contoso.onmicrosoft.com",
				display: strings.ToUpper(f[:1]) + f[1:] + " " + strings.ToUpper(l[:1]) + l[1:],
				puid:    string(appendHex([]byte("10032000"), mix(0x9D1D, seed), 8)),
				aadID:   guidFrom(mix(0xAAD, seed)),
			})
		}
	}
	return out
})

var (
	userAgents = []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
		"Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.18227; Pro)",
		"OneDriveMpc-Transform_Thumbnail/1.0",
		"Microsoft SkyDriveSync 24.215.1027.0001 ship; Windows NT 10.0 (22631)",
	}
	apps = []struct{ id, name string }{
		{"00000002-0000-0ff1-ce00-000000000000", "Office 365 Exchange Online"},
		{"00000003-0000-0ff1-ce00-000000000000", "Office 365 SharePoint Online"},
		{"1fec8e78-bce4-4aaf-ab1b-5451cc387264", "Microsoft Teams"},
		{"4765445b-32c6-49b0-83e6-1d93765276ca", "OfficeHome"},
		{"d3590ed6-52b3-4102-aeff-aad2292ab01c", "Microsoft Office"},
	}
	fileNames  = []string{"Q3 forecast.xlsx", "Board deck.pptx", "Contract - Fabrikam.docx", "Salaries 2026.xlsx", "Roadmap.docx", "notes.txt", "diagram.vsdx", "invoice-4471.pdf"}
	subjects   = []string{"Quarterly report", "RE: Invoice 4471", "Offsite agenda", "Password reset", "FW: Contract draft", "Lunch?"}
	teamNames  = []string{"Finance", "Mark 8 Project Team", "Retail", "Sales and Marketing", "U.S. Sales", "Digital Initiative Public Relations"}
	siteNames  = []string{"Finance", "Mark8ProjectTeam", "Retail", "SalesAndMarketing", "HR"}
	policyName = []string{"U.S. Financial Data", "GDPR Enhanced", "Credit card numbers", "PII - Social Security"}
	sensTypes  = []struct{ id, name string }{
		{"50842eb7-edc8-4019-85dd-5a5c1f2bb085", "Credit Card Number"},
		{"a44669fe-0d48-453d-a9b1-2cc83f2cba77", "U.S. Social Security Number (SSN)"},
		{"a2ce32a8-f935-4bb6-8e96-2a5157672e2c", "U.S. Bank Account Number"},
	}
)

// personalSite turns a UPN into its OneDrive URL segment.
var personalSite = strings.NewReplacer(".", "_", "@", "_")

// rec holds what every record writer needs.
type rec struct {
	w          *jw
	r          *rng
	g          *generation
	idHi, idLo uint64
	layout     string // CreationTime layout
	at         time.Time
	user       demoUser
}

// recordWriter renders records with no per-record allocation of its own
// state; one serves a whole blob.
type recordWriter struct {
	jw  jw
	rng rng
	rec rec
}

func (g *generation) newRecordWriter() *recordWriter {
	rw := &recordWriter{}
	rw.rec = rec{w: &rw.jw, r: &rw.rng, g: g}
	return rw
}

// appendRecord renders record (natural blob n, index j) to buf. The output
// depends only on (generation key, n, j), so re-deliveries repeat it exactly.
func (g *generation) appendRecord(buf []byte, n, j int) []byte {
	return g.newRecordWriter().render(buf, n, j)
}

func (rw *recordWriter) render(buf []byte, n, j int) []byte {
	c, g, r := &rw.rec, rw.rec.g, &rw.rng
	*r = g.recordRNG(n, j)
	c.idHi, c.idLo = r.next(), r.next()
	c.at = g.start.Add(g.slice*time.Duration(n) + r.dur(g.slice)).Truncate(time.Millisecond)
	c.layout = "2006-01-02T15:04:05" // no zone suffix, as the API sends it
	if r.chance(0.25) {
		c.layout = "2006-01-02T15:04:05.000"
	}
	c.user = pick(r, demoUsers())
	w := c.w
	*w = jw{b: buf}
	w.open('{')
	switch g.ct {
	case "Audit.AzureActiveDirectory":
		c.aad()
	case "Audit.Exchange":
		c.exchange()
	case "Audit.SharePoint":
		c.sharePoint()
	case "DLP.All":
		c.dlp()
	default:
		c.general()
	}
	w.close('}')
	buf = w.b
	w.b = nil
	return buf
}

// head writes the common fields every record starts with.
func (c *rec) head(op string, recordType int, resultStatus, userKey string, userType int, workload string) {
	w := c.w
	w.ktime("CreationTime", c.at, c.layout)
	w.key("Id")
	w.sep()
	w.b = append(w.b, '"')
	w.b = appendGUID(w.b, c.idHi, c.idLo)
	w.b = append(w.b, '"')
	w.need = true
	w.kstr("Operation", op)
	w.kstr("OrganizationId", c.g.org)
	w.knum("RecordType", recordType)
	if resultStatus != "" {
		w.kstr("ResultStatus", resultStatus)
	}
	w.kstr("UserKey", userKey)
	w.knum("UserType", userType)
	w.knum("Version", 1)
	w.kstr("Workload", workload)
}

var ipv4Nets = []string{"203.0.113", "198.51.100", "52.169.12", "40.126.32", "192.0.2"}

// kip writes a client address under key k in the shapes seen live (IPv4,
// IPv6, either with a port) and returns the address's span in w.b.
func (c *rec) kip(k string) (from, to int) {
	w, r := c.w, c.r
	w.key(k)
	w.sep()
	w.b = append(w.b, '"')
	from = len(w.b)
	x := r.intn(20) // 0–11 v4, 12–15 v6, 16–17 v4:port, 18–19 [v6]:port
	if x >= 18 {
		w.b = append(w.b, '[')
	}
	if x >= 12 && x < 16 || x >= 18 {
		w.b = append(w.b, "2a01:111:f400:"...)
		w.b = appendHex(w.b, r.next(), 4)
		w.b = append(w.b, ':')
		w.b = appendHex(w.b, r.next(), 4)
		w.b = append(w.b, "::"...)
		w.b = strconv.AppendUint(w.b, 1+r.next()%0xfffe, 16)
	} else {
		w.b = append(w.b, pick(r, ipv4Nets)...)
		w.b = append(w.b, '.')
		w.b = strconv.AppendInt(w.b, int64(1+r.intn(254)), 10)
	}
	if x >= 18 {
		w.b = append(w.b, ']')
	}
	if x >= 16 {
		w.b = append(w.b, ':')
		w.b = strconv.AppendInt(w.b, int64(1024+r.intn(60000)), 10)
	}
	to = len(w.b)
	w.b = append(w.b, '"')
	w.need = true
	return from, to
}

// kguid writes a fresh random GUID under key k without allocating.
func (c *rec) kguid(k string) {
	w := c.w
	w.key(k)
	w.sep()
	w.b = append(w.b, '"')
	w.b = appendGUID(w.b, c.r.next(), c.r.next())
	w.b = append(w.b, '"')
	w.need = true
}

// appAccessContext writes the optional AppAccessContext object.
func (c *rec) appAccessContext() {
	w := c.w
	app := pick(c.r, apps)
	w.key("AppAccessContext")
	w.open('{')
	c.kguid("AADSessionId")
	c.kguid("APIId")
	w.kstr("ClientAppId", app.id)
	w.kstr("ClientAppName", app.name)
	c.kguid("CorrelationId")
	w.ktime("IssuedAtTime", c.at.Add(-time.Duration(c.r.intn(3600))*time.Second), "2006-01-02T15:04:05")
	w.kstr("UniqueTokenId", string(appendHex(nil, c.r.next(), 16))+"AA")
	w.close('}')
}

func (c *rec) aad() {
	w, r := c.w, c.r
	tenant := c.g.org
	if r.chance(0.7) {
		failed := r.chance(0.15)
		op, status := "UserLoggedIn", "Success"
		if failed {
			op, status = "UserLoginFailed", "Failed"
		}
		app := pick(r, apps)
		c.head(op, 15, status, c.user.aadID, 0, "AzureActiveDirectory")
		ipFrom, ipTo := c.kip("ClientIP")
		w.kstr("ObjectId", app.id)
		w.kstr("UserId", c.user.upn)
		w.knum("AzureActiveDirectoryEventType", 1)
		w.nameValues("ExtendedProperties", "Name", "Value",
			"ResultStatusDetail", pick(r, []string{"Success", "Redirect", "UserError"}),
			"UserAgent", pick(r, userAgents),
			"RequestType", pick(r, []string{"OAuth2:Authorize", "OAuth2:Token", "Login:login", "SAS:ProcessAuth"}),
			"KeepMeSignedIn", pick(r, []string{"true", "false"}),
			// Stringly JSON, as MS sends for some properties.
			"UserAuthenticationMethod", `{"AuthMethod":"`+pick(r, []string{"1", "6", "17"})+`","Succeeded":"true"}`)
		w.key("ModifiedProperties")
		w.open('[')
		w.close(']')
		w.key("Actor")
		w.open('[')
		w.open('{')
		w.kstr("ID", c.user.aadID)
		w.knum("Type", 0)
		w.close('}')
		w.open('{')
		w.kstr("ID", c.user.upn)
		w.knum("Type", 5)
		w.close('}')
		w.close(']')
		w.kstr("ActorContextId", tenant)
		w.key("ActorIpAddress")
		w.sep()
		w.b = append(w.b, '"')
		w.b = append(w.b, w.b[ipFrom:ipTo]...) // the same address again
		w.b = append(w.b, '"')
		w.need = true
		c.kguid("InterSystemsId")
		c.kguid("IntraSystemId")
		w.kstr("SupportTicketId", "")
		w.key("Target")
		w.open('[')
		w.open('{')
		w.kstr("ID", app.id)
		w.knum("Type", 0)
		w.close('}')
		w.close(']')
		w.kstr("TargetContextId", tenant)
		w.kstr("ApplicationId", app.id)
		w.nameValues("DeviceProperties", "Name", "Value",
			"OS", pick(r, []string{"Windows 10", "Windows 11", "MacOs", "Ios", "Android"}),
			"BrowserType", pick(r, []string{"Edge", "Chrome", "Safari", "Firefox"}),
			"IsCompliant", pick(r, []string{"True", "False"}),
			"SessionId", c.r.guid())
		if failed {
			w.kstr("ErrorNumber", pick(r, []string{"50126", "50053", "50074"})) // a number as a string
			w.kstr("LogonError", pick(r, []string{"InvalidUserNameOrPassword", "IdsLocked", "UserStrongAuthClientAuthNRequired"}))
		} else {
			w.kstr("ErrorNumber", "0")
		}
		return
	}
	op := pick(r, []string{"Add user.", "Update user.", "Add member to role.", "Consent to application.", "Reset user password.", "Add service principal."})
	target := pick(r, demoUsers())
	c.head(op, 8, "Success", c.user.aadID, pick(r, []int{0, 0, 0, 4}), "AzureActiveDirectory")
	if r.chance(0.6) {
		w.klit("ClientIP", "null") // Entra directory events often carry no client IP
	} else {
		c.kip("ClientIP")
	}
	w.kstr("ObjectId", target.upn)
	w.kstr("UserId", c.user.upn)
	w.knum("AzureActiveDirectoryEventType", 1)
	w.nameValues("ExtendedProperties", "Name", "Value",
		"additionalDetails", `{"UserType":"Member"}`,
		"extendedAuditEventCategory", "User")
	w.key("ModifiedProperties")
	w.open('[')
	w.open('{')
	w.kstr("Name", "AccountEnabled")
	w.kstr("NewValue", "[\r\n  true\r\n]")
	w.kstr("OldValue", "[]")
	w.close('}')
	w.open('{')
	w.kstr("Name", "Included Updated Properties")
	w.kstr("NewValue", "AccountEnabled, DisplayName")
	w.kstr("OldValue", "")
	w.close('}')
	w.close(']')
	w.key("Actor")
	w.open('[')
	w.open('{')
	w.kstr("ID", c.user.upn)
	w.knum("Type", 5)
	w.close('}')
	w.close(']')
	w.kstr("ActorContextId", tenant)
	c.kguid("InterSystemsId")
	c.kguid("IntraSystemId")
	w.kstr("SupportTicketId", "")
	w.key("Target")
	w.open('[')
	w.open('{')
	w.kstr("ID", "User_"+target.aadID)
	w.knum("Type", 2)
	w.close('}')
	w.open('{')
	w.kstr("ID", target.upn)
	w.knum("Type", 5)
	w.close('}')
	w.close(']')
	w.kstr("TargetContextId", tenant)
}

func (c *rec) exchange() {
	w, r := c.w, c.r
	server := "AM0PR0" + strconv.Itoa(1+r.intn(9)) + "MB" + strconv.Itoa(1000+r.intn(9000)) + ".eurprd0" + strconv.Itoa(1+r.intn(9)) + ".prod.outlook.com"
	switch x := r.intn(4); {
	case x < 2:
		c.head("MailItemsAccessed", 50, "Succeeded", c.user.puid, 0, "Exchange")
		c.kip("ClientIP")
		w.kstr("UserId", c.user.upn)
		c.appAccessContext()
		w.kstr("ClientInfoString", "Client=OWA;Action=ViaProxy;"+pick(r, userAgents))
		w.kbool("ExternalAccess", false)
		w.kstr("InternalLogonType", "0")
		w.knum("LogonType", 0)
		w.kstr("LogonUserSid", "S-1-5-21-"+strconv.Itoa(1000000+r.intn(9000000))+"-"+strconv.Itoa(r.intn(99999)))
		c.kguid("MailboxGuid")
		w.kstr("MailboxOwnerUPN", c.user.upn)
		w.nameValues("OperationProperties", "Name", "Value", "MailAccessType", pick(r, []string{"Bind", "Sync"}), "IsThrottled", "False")
		w.kstr("OrganizationName", "contoso.onmicrosoft.com")
		w.kstr("OriginatingServer", server+" (15.20.8182.017)")
		c.kguid("SessionId")
		w.key("Folders")
		w.open('[')
		w.open('{')
		w.key("FolderItems")
		w.open('[')
		for range 1 + r.intn(3) {
			w.open('{')
			w.kstr("InternetMessageId", "<"+string(appendHex(nil, r.next(), 16))+"@"+server+">")
			w.knum("SizeInBytes", 2000+r.intn(200000))
			w.close('}')
		}
		w.close(']')
		w.kstr("Id", "LgAAAAB"+string(appendHex(nil, r.next(), 16)))
		w.kstr("Path", pick(r, []string{"\\Inbox", "\\Sent Items", "\\Archive"}))
		w.close('}')
		w.close(']')
		w.knum("OperationCount", 1+r.intn(5))
	case x < 3:
		op := pick(r, []string{"Send", "SoftDelete", "MoveToDeletedItems", "Update"})
		c.head(op, 2, "Succeeded", c.user.puid, 0, "Exchange")
		c.kip("ClientIP")
		w.kstr("ObjectId", "")
		w.kstr("UserId", c.user.upn)
		c.appAccessContext()
		w.kstr("ClientInfoString", "Client=MSExchangeRPC")
		w.kbool("ExternalAccess", false)
		w.knum("LogonType", 0)
		c.kguid("MailboxGuid")
		w.kstr("MailboxOwnerUPN", c.user.upn)
		w.kstr("OrganizationName", "contoso.onmicrosoft.com")
		w.kstr("OriginatingServer", server+" (15.20.8182.017)\r\n")
		w.key("Item")
		w.open('{')
		w.kstr("Id", "RgAAAAD"+string(appendHex(nil, r.next(), 16)))
		w.kstr("InternetMessageId", "<"+string(appendHex(nil, r.next(), 16))+"@"+server+">")
		w.key("ParentFolder")
		w.open('{')
		w.kstr("Id", "LgAAAAB"+string(appendHex(nil, r.next(), 16)))
		w.kstr("Path", pick(r, []string{"\\Inbox", "\\Sent Items", "\\Drafts"}))
		w.close('}')
		w.knum("SizeInBytes", 2000+r.intn(200000))
		w.kstr("Subject", pick(r, subjects))
		w.close('}')
	default:
		op := pick(r, []string{"Set-Mailbox", "New-InboxRule", "Add-MailboxPermission", "Set-TransportRule", "Set-OwaMailboxPolicy"})
		userID, userType := c.user.upn, 2
		if r.chance(0.3) {
			userID, userType = `NT AUTHORITY\SYSTEM (Microsoft.Exchange.ServiceHost)`, 4
		}
		c.head(op, 1, pick(r, []string{"True", "True", "True", "False"}), c.user.puid, userType, "Exchange")
		if r.chance(0.5) {
			c.kip("ClientIP")
		} else {
			w.kstr("ClientIP", "")
		}
		target := pick(r, demoUsers())
		w.kstr("ObjectId", "EURPR01A001.prod.outlook.com/Microsoft Exchange Hosted Organizations/contoso.onmicrosoft.com/"+target.display)
		w.kstr("UserId", userID)
		w.kstr("AppId", pick(r, apps).id)
		w.kbool("ExternalAccess", userType == 4)
		w.kstr("OrganizationName", "contoso.onmicrosoft.com")
		w.kstr("OriginatingServer", server+" (15.20.8182.017)")
		w.nameValues("Parameters", "Name", "Value",
			"Identity", target.upn,
			"ForwardingSmtpAddress", "smtp:"+strings.SplitN(target.upn, "@", 2)[0]+"@fabrikam.example",
			"DeliverToMailboxAndForward", "True")
		c.kguid("SessionId")
	}
}

func (c *rec) sharePoint() {
	w, r := c.w, c.r
	workload, site := "SharePoint", "https://contoso.sharepoint.com/sites/"+pick(r, siteNames)+"/"
	if r.chance(0.3) {
		workload = "OneDrive"
		site = "https://contoso-my.sharepoint.com/personal/" + personalSite.Replace(c.user.upn) + "/"
	}
	file := pick(r, fileNames)
	ext := file[strings.LastIndexByte(file, '.')+1:]
	folder := "Shared Documents/" + pick(r, []string{"General", "Reports", "Archive", "Drafts"})
	op, recordType := "", 6
	switch x := r.intn(20); {
	case x < 8:
		op = "FileAccessed"
	case x < 12:
		op = "FileDownloaded"
	case x < 15:
		op = "FileModified"
	case x < 17:
		op = "FileUploaded"
	default:
		op, recordType = pick(r, []string{"SharingSet", "AnonymousLinkCreated", "SharingInvitationCreated"}), 14
	}
	userKey := "i:0h.f|membership|" + strings.ToLower(c.user.puid) + "@live.com"
	userID := c.user.upn
	userType := 0
	if r.chance(0.05) {
		userID, userType = "app@sharepoint", 5
	}
	c.head(op, recordType, "", userKey, userType, workload)
	c.kip("ClientIP")
	w.kstr("ObjectId", site+folder+"/"+file)
	w.kstr("UserId", userID)
	if r.chance(0.3) {
		w.knum("Scope", pick(r, []int{0, 0, 0, 1}))
	}
	c.appAccessContext()
	c.kguid("CorrelationId")
	w.kstr("EventSource", "SharePoint")
	w.kstr("ItemType", "File")
	c.kguid("ListId")
	c.kguid("ListItemUniqueId")
	c.kguid("Site")
	w.kstr("UserAgent", pick(r, userAgents))
	c.kguid("WebId")
	w.kbool("HighPriorityMediaProcessing", false)
	w.kstr("SourceFileExtension", ext)
	w.kstr("SiteUrl", site)
	w.kstr("SourceFileName", file)
	w.kstr("SourceRelativeUrl", folder)
	w.kstr("ApplicationDisplayName", pick(r, apps).name)
	w.kstr("GeoLocation", pick(r, []string{"NAM", "EUR", "APC"}))
	w.kbool("IsManagedDevice", r.chance(0.5))
	w.kstr("Platform", pick(r, []string{"WinDesktop", "MacDesktop", "iOS", "Android", "Unknown"}))
	w.knum("FileSizeBytes", 1000+r.intn(5_000_000))
	if recordType == 14 {
		target := pick(r, demoUsers())
		w.kstr("TargetUserOrGroupName", target.upn)
		w.kstr("TargetUserOrGroupType", pick(r, []string{"Member", "Guest", "SharePointGroup"}))
		w.kstr("EventData", "<Type>Edit</Type><MembersCanShare>Enabled</MembersCanShare>")
	}
}

func (c *rec) general() {
	w, r := c.w, c.r
	switch x := r.intn(10); {
	case x < 6:
		op := pick(r, []string{"TeamsSessionStarted", "TeamsSessionStarted", "MemberAdded", "TeamCreated", "ChannelAdded", "MeetingDetail"})
		team := pick(r, teamNames)
		c.head(op, 25, "Succeeded", c.user.aadID, 0, "MicrosoftTeams")
		c.kip("ClientIP")
		w.kstr("UserId", c.user.upn)
		c.kguid("AADGroupId")
		w.kstr("CommunicationType", pick(r, []string{"Team", "GroupChat", "OneOnOne"}))
		w.key("Members")
		w.open('[')
		for range 1 + r.intn(3) {
			m := pick(r, demoUsers())
			w.open('{')
			w.kstr("DisplayName", m.display)
			w.knum("Role", r.intn(3))
			w.kstr("UPN", m.upn)
			w.close('}')
		}
		w.close(']')
		w.kstr("TeamGuid", "19:"+string(appendHex(nil, r.next(), 16))+"@thread.tacv2")
		w.kstr("TeamName", team)
		w.kstr("ItemName", team)
		w.key("ExtraProperties")
		w.open('[')
		for _, kv := range [][2]string{{"TimeZone", pick(r, []string{"UTC", "Pacific Standard Time", "W. Europe Standard Time"})}, {"OsName", pick(r, []string{"windows", "macos", "ios"})}, {"Country", pick(r, []string{"us", "de", "in"})}} {
			w.open('{')
			w.kstr("Key", kv[0])
			w.kstr("Value", kv[1])
			w.close('}')
		}
		w.close(']')
		c.kguid("DeviceId")
	case x < 8:
		op := pick(r, []string{"ViewReport", "ExportReport", "ViewDashboard"})
		c.head(op, 20, "", c.user.aadID, 0, "PowerBI")
		c.kip("ClientIP")
		w.kstr("ObjectId", pick(r, []string{"Sales Overview", "Finance KPIs", "Ops Daily"}))
		w.kstr("UserId", c.user.upn)
		w.kstr("UserAgent", pick(r, userAgents))
		w.kstr("Activity", op)
		w.kstr("ItemName", pick(r, []string{"Sales Overview", "Finance KPIs"}))
		w.kstr("WorkSpaceName", pick(r, teamNames))
		w.kstr("DatasetName", "Sales")
		w.kstr("ReportName", "Sales Overview")
		c.kguid("CapacityId")
		c.kguid("WorkspaceId")
		c.kguid("ReportId")
		w.kbool("IsSuccess", true)
		c.kguid("RequestId")
		c.kguid("ActivityId")
		w.kstr("DistributionMethod", "Workspace")
		w.kstr("ConsumptionMethod", "Power BI Web")
	default:
		c.head("CopilotInteraction", 261, "", c.user.aadID, 0, "Copilot")
		c.kip("ClientIP")
		w.kstr("UserId", c.user.upn)
		w.key("CopilotEventData")
		w.open('{')
		w.kstr("AppHost", pick(r, []string{"Word", "Teams", "Outlook", "BizChat"}))
		w.key("Contexts")
		w.open('[')
		w.open('{')
		w.kstr("Id", "https://contoso.sharepoint.com/sites/Finance/"+pick(r, fileNames))
		w.kstr("Type", "docx")
		w.close('}')
		w.close(']')
		w.kstr("ThreadId", "19:"+string(appendHex(nil, r.next(), 16))+"@thread.v2")
		w.key("Messages")
		w.open('[')
		for k := range 2 {
			w.open('{')
			w.kstr("Id", strconv.FormatInt(c.at.UnixMilli()+int64(k), 10))
			w.kbool("isPrompt", k == 0)
			w.close('}')
		}
		w.close(']')
		w.key("AccessedResources")
		w.open('[')
		w.open('{')
		w.kstr("Action", "Read")
		w.kstr("Name", pick(r, fileNames))
		c.kguid("SensitivityLabelId")
		w.close('}')
		w.close(']')
		w.close('}')
	}
}

func (c *rec) dlp() {
	w, r := c.w, c.r
	op := "DlpRuleMatch"
	switch x := r.intn(20); {
	case x == 0:
		op = "DlpRuleUndo"
	case x < 3:
		op = "DlpInfo"
	}
	exchange := r.chance(0.6)
	if exchange {
		c.head(op, 13, "", c.user.upn, 0, "Exchange")
	} else {
		c.head(op, 11, "", c.user.upn, 0, pick(r, []string{"SharePoint", "OneDrive"}))
	}
	if r.chance(0.5) {
		w.klit("ClientIP", "null")
	} else {
		c.kip("ClientIP")
	}
	msgID := "<" + string(appendHex(nil, r.next(), 16)) + "@contoso.onmicrosoft.com>"
	file := pick(r, fileNames)
	if exchange {
		w.kstr("ObjectId", msgID)
	} else {
		w.kstr("ObjectId", "https://contoso.sharepoint.com/sites/Finance/Shared Documents/"+file)
	}
	w.kstr("UserId", c.user.upn)
	c.kguid("IncidentId")
	w.key("PolicyDetails")
	w.open('[')
	w.open('{')
	c.kguid("PolicyId")
	w.kstr("PolicyName", pick(r, policyName))
	w.key("Rules")
	w.open('[')
	w.open('{')
	w.key("Actions")
	w.open('[')
	w.str(pick(r, []string{"NotifyUser", "BlockAccess", "GenerateIncidentReport"}))
	w.close(']')
	w.key("ConditionsMatched")
	w.open('{')
	w.kbool("ConditionMatchedInNewScheme", true)
	w.key("SensitiveInformation")
	w.open('[')
	st := pick(r, sensTypes)
	w.open('{')
	w.knum("Confidence", pick(r, []int{75, 85, 95}))
	w.knum("Count", 1+r.intn(20))
	w.kstr("SensitiveType", st.id)
	w.kstr("SensitiveInformationTypeName", st.name)
	w.key("Location")
	w.lit("null")
	w.close('}')
	w.close(']')
	w.close('}')
	c.kguid("ManagementRuleId")
	c.kguid("RuleId")
	w.kstr("RuleMode", "Enable")
	w.kstr("RuleName", "Low volume of content detected "+st.name)
	w.kstr("Severity", pick(r, []string{"Low", "Medium", "High"}))
	w.close('}')
	w.close(']')
	w.close('}')
	w.close(']')
	w.kbool("SensitiveInfoDetectionIsIncluded", true)
	if exchange {
		to := pick(r, demoUsers())
		w.key("ExchangeMetaData")
		w.open('{')
		w.key("BCC")
		w.open('[')
		w.close(']')
		w.key("CC")
		w.open('[')
		w.close(']')
		w.knum("FileSize", 2000+r.intn(500000))
		w.kstr("From", c.user.upn)
		w.kstr("MessageID", msgID)
		w.knum("RecipientCount", 1)
		w.ktime("Sent", c.at.Add(-time.Minute), "2006-01-02T15:04:05")
		w.kstr("Subject", pick(r, subjects))
		w.key("To")
		w.open('[')
		w.str(to.upn)
		w.close(']')
		c.kguid("UniqueID")
		w.close('}')
	} else {
		w.key("SharePointMetaData")
		w.open('{')
		c.kguid("FileID")
		w.kstr("FileName", file)
		w.kstr("FilePathUrl", "https://contoso.sharepoint.com/sites/Finance/Shared Documents/"+file)
		w.kstr("From", c.user.upn)
		w.ktime("ItemCreationTime", c.at.Add(-72*time.Hour), "2006-01-02T15:04:05")
		c.kguid("SiteCollectionGuid")
		w.kstr("SiteCollectionUrl", "https://contoso.sharepoint.com/sites/Finance")
		c.kguid("UniqueID")
		w.close('}')
	}
}
