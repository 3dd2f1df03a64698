"""Broadcasts and push-type notices: authoring and approval, the residents directory, the fan-out lanes, the alert watch."""
