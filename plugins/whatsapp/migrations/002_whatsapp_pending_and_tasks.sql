-- whatsapp 002: the ingest fast path and releasing a dead-lettered media task (decisions 0064,
-- 0065). Portable SQL (SQLite and PostgreSQL).

-- The whatsapp.process task of a media message, so a task.dead_letter (a worker that died or hung
-- on the last attempt) finds the message it held back and releases it as degraded.
ALTER TABLE whatsapp_messages ADD COLUMN process_task TEXT;
CREATE INDEX idx_whatsapp_messages_task ON whatsapp_messages(process_task)
  WHERE process_task IS NOT NULL;

-- The messages of a chat that may still hold later ones back (received: media being processed;
-- ready: waiting for an earlier one). Only these rows are indexed, so "is anything of this chat
-- pending?" costs the same after a million messages as after ten; a text message that nothing
-- holds back is stored as emitted and never enters this index.
CREATE INDEX idx_whatsapp_messages_pending ON whatsapp_messages(chat_jid, seq)
  WHERE status IN ('received', 'ready');
