"""English pages write short dates day first ("5 Mar 2026", as European readers expect and as the pages
always have); German, Spanish and French keep Django's formats for their language. DATE_FORMAT stays
Django's, as reminders to patients write it in full ("March 12, 2026")."""

SHORT_DATE_FORMAT = "j M Y"
SHORT_DATETIME_FORMAT = "j M Y H:i"
