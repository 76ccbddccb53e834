// memory/src/redactor.h — secret and PII redaction of text before anything is stored in memory,
// and the audit row per redaction (decision 0029).
//
//   jarvis::memory::Redactor r({.secret_scan = true, .pii_mode = "mask"});
//   jarvis::memory::Redaction out = r.scan("my key is sk-abc…, mail me at a@b.org");
//   // out.text == "my key is [REDACTED:openai_key], mail me at [REDACTED:email]"
//   if (out.denied) throw jarvis::Error(422, "pii_denied", "…");       // pii_mode = deny
//   auto tx = host.db().transaction();
//   insert_item(tx->session(), out.text);
//   jarvis::memory::record_redactions(tx->session(), {.item_id = id, .owner_id = owner,
//                                     .source = "api"}, out);          // one row per finding
//
// The SDK's jarvis::redact works on JSON keys (event payloads); this one works on free text. It
// never stores what it removed: audit rows name the rule and category only.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <soci/soci.h>

namespace jarvis::memory {

/// One thing the redactor removed.
struct RedactionFinding {
  std::string category;  ///< "secret" or "pii"
  std::string rule;      ///< e.g. "openai_key", "private_key", "email", "phone", "card_number"
};

/// The outcome of Redactor::scan.
struct Redaction {
  std::string text;  ///< the text with every finding replaced by "[REDACTED:<rule>]"
  std::vector<RedactionFinding> findings;  ///< in the order found (secrets first)
  /// True when PII was found and the mode is "deny": the text must not be stored at all.
  bool denied = false;
};

/// What the redactor looks for.
struct RedactorOptions {
  bool secret_scan = true;        ///< MEMORY_SECRET_SCAN_ENABLED
  std::string pii_mode = "mask";  ///< MEMORY_PII_REDACT_MODE: mask | deny | off
};

/// Pattern-based redactor for free text. Thread-safe (immutable after construction).
class Redactor {
 public:
  explicit Redactor(RedactorOptions options);
  /// Secrets (when enabled) are always masked; PII is masked, or marks the outcome `denied`, or is
  /// kept, per the mode. Never throws for any input (arbitrary bytes included).
  Redaction scan(std::string_view text) const;
  const RedactorOptions& options() const { return options_; }

 private:
  RedactorOptions options_;
};

/// Whose item a redaction belongs to (the audit row's columns).
struct RedactionSubject {
  std::string item_id;  ///< empty when the item was refused
  std::string owner_id;
  std::string thread_id;  ///< empty = none
  std::string source;     ///< "api", "tool", "event", "state"
};

/// Writes one memory_redactions row per finding (action "masked", or "denied" when
/// `outcome.denied`) on `sql` — call it in the same transaction as the item. Returns the count.
int record_redactions(soci::session& sql, const RedactionSubject& subject,
                      const Redaction& outcome);

}  // namespace jarvis::memory
