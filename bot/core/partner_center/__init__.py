"""Partner Center side of Multichannel: webhook authenticity, event parsing, REST and Graph
clients, and a test kit that signs webhooks like Partner Center does."""
