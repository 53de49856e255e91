package emulator

// Azure Active Directory record templates (Audit.AzureActiveDirectory).

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
