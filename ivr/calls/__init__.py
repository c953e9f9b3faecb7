"""The phone front end: Twilio's webhooks, starting and carrying on calls, turns."""
