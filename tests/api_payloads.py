"""The JSON examples of the vendor's document (reference/inbound-api.md), copied verbatim."""

from __future__ import annotations

import json
from typing import Any

INBOUND_ID = "9c2ad915-7d8a-4949-b8df-5fd0da91b4e6"
ASSISTANT_ID = "550e8400-e29b-41d4-a716-446655440000"
NEW_ASSISTANT_ID = "de305d54-75b4-431b-adb2-eb6b9e546014"
STRATEGY_ID = "f0f6d398-f9d9-4a7b-bc8e-4f24f57ec2de"
NUMBER = "+918044319240"

ASSIGN_REQUEST_WITHOUT_STRATEGY = """{
           "assistant_id": "550e8400-e29b-41d4-a716-446655440000",
           "service": "exotel",
           "inbound_config": {
             "phone_number": "+918044319240"
           }
         }"""

ASSIGN_REQUEST_WITH_STRATEGY = """{
           "assistant_id": "550e8400-e29b-41d4-a716-446655440000",
           "inbound_context_strategy_id": "f0f6d398-f9d9-4a7b-bc8e-4f24f57ec2de",
           "service": "exotel",
           "inbound_config": {
             "phone_number": "+918044319240"
           }
         }"""

ASSIGN_RESPONSE = """{
  "success": true,
  "message": "Inbound number assigned successfully",
  "data": {
    "inbound_id": "9c2ad915-7d8a-4949-b8df-5fd0da91b4e6",
    "phone_number": "+918044319240",
    "phone_number_normalized": "918044319240",
    "assistant_id": "550e8400-e29b-41d4-a716-446655440000",
    "inbound_context_strategy_id": "f0f6d398-f9d9-4a7b-bc8e-4f24f57ec2de",
    "inbound_context_strategy_name": "CRM lookup",
    "service": "exotel",
    "inbound_config": {
      "type": "exotel",
      "phone_number": "+918044319240"
    }
  }
}"""

UPDATE_REQUEST_ASSISTANT_ONLY = """{
           "assistant_id": "de305d54-75b4-431b-adb2-eb6b9e546014"
         }"""

UPDATE_REQUEST_STRATEGY_ONLY = """{
           "inbound_context_strategy_id": "f0f6d398-f9d9-4a7b-bc8e-4f24f57ec2de"
         }"""

UPDATE_REQUEST_CLEAR_STRATEGY = """{
           "inbound_context_strategy_id": null
         }"""

UPDATE_RESPONSE = """{
  "success": true,
  "message": "Inbound number mapping updated successfully",
  "data": {
    "inbound_id": "9c2ad915-7d8a-4949-b8df-5fd0da91b4e6",
    "assistant_id": "de305d54-75b4-431b-adb2-eb6b9e546014",
    "inbound_context_strategy_id": "f0f6d398-f9d9-4a7b-bc8e-4f24f57ec2de"
  }
}"""

DETACH_RESPONSE = """{
  "success": true,
  "message": "Inbound number detached successfully",
  "data": {
    "inbound_id": "9c2ad915-7d8a-4949-b8df-5fd0da91b4e6",
    "assistant_id": null,
    "inbound_context_strategy_id": null
  }
}"""

DELETE_RESPONSE = """{
  "success": true,
  "message": "Inbound number deleted successfully",
  "data": {
    "inbound_id": "9c2ad915-7d8a-4949-b8df-5fd0da91b4e6"
  }
}"""

LIST_RESPONSE = """{
  "success": true,
  "message": "Inbound numbers retrieved successfully",
  "data": [
    {
      "inbound_id": "9c2ad915-7d8a-4949-b8df-5fd0da91b4e6",
      "phone_number": "+918044319240",
      "phone_number_normalized": "918044319240",
      "inbound_config": {
        "type": "exotel",
        "phone_number": "+918044319240"
      },
      "assistant_id": "550e8400-e29b-41d4-a716-446655440000",
      "assistant_name": "Support Assistant",
      "inbound_context_strategy_id": "f0f6d398-f9d9-4a7b-bc8e-4f24f57ec2de",
      "inbound_context_strategy_name": "CRM lookup",
      "service": "exotel",
      "created_at": "2026-03-18T11:30:00Z",
      "updated_at": "2026-03-18T11:30:00Z"
    }
  ]
}"""


def load(text: str) -> Any:
    """One of the examples above as Python data."""
    return json.loads(text)
