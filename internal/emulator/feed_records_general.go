package emulator

import (
	"strconv"
	"time"
)

// Audit.General (Teams, Power BI, Defender...) and DLP.All record templates.

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
