package emulator

import (
	"strconv"
	"strings"
)

// Exchange and SharePoint record templates (Audit.Exchange,
// Audit.SharePoint).

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
