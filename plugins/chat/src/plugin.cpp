// chat/src/plugin.cpp — entry of the chat plugin: registration only.
#include "jarvis/jarvis.h"

namespace chat {

class ChatPlugin : public jarvis::Plugin {
 public:
  void setup(jarvis::Host& host) override { (void)host; }
};

}  // namespace chat

JARVIS_PLUGIN(chat::ChatPlugin)
