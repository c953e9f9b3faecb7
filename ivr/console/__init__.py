"""The interviewers' console: assisted calls from the questionnaire's script."""
