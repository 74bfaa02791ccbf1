"""Sentences of the collection's messages that tests look for, each named once.

A test that checks what a message tells the user names the sentence here; rewording a message then changes one line
of this file, and no test that checks something else breaks on it.
"""

# Warnings of state=cancelled (plugins/module_utils/action_cancel.py).
ALREADY_SUCCEEDED = "had already succeeded before it could be cancelled: the file is quarantined there"
COMPLETED_BEFORE_CANCEL = "is cancelled, but its command had already completed on the machine"

# The warning of a run whose token cache folder cannot be used (plugins/module_utils/token_cache.py).
TOKEN_CACHE_FOLDER = "token cache folder"

# The warning that a machine may have been written twice after a lost answer (plugins/module_utils/_actions/action_writer.py).
WRITTEN_TWICE = "written twice"

# The warning of a run on a file Defender has no record of (plugins/module_utils/action_results.py); %s is the SHA-1.
NO_RECORD = "Defender has no record of file %s in this tenant"
NOTHING_QUARANTINED = NO_RECORD + ", so nothing could be quarantined"
NOTHING_WOULD_BE_QUARANTINED = NO_RECORD + ", so nothing would be quarantined"
