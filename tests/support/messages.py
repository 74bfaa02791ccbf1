"""Sentences of the collection's messages that tests look for, each named once.

A test that checks what a message tells the user names the sentence here; rewording a message then changes one line
of this file, and no test that checks something else breaks on it.
"""

# Warnings of state=cancelled (plugins/module_utils/action_cancel.py).
ALREADY_SUCCEEDED = "had already succeeded before it could be cancelled: the file is quarantined there"
COMPLETED_BEFORE_CANCEL = "is cancelled, but its command had already completed on the machine"
