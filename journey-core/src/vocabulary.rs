//! Open vocabularies: channels, departments and action kinds.
//!
//! Each is a set of well-known values plus any custom string. Well-known values are
//! written in `snake_case` (`mobile_app`); anything else is kept exactly as given, so a
//! map can name `wearable` or `back_office` without a code change.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! open_set {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
            /// Any value outside the well-known set, kept as written.
            Custom(String),
        }

        impl $name {
            /// Every well-known value, in declaration order.
            pub const KNOWN: &'static [$name] = &[$($name::$variant,)*];

            /// The value as written in maps and events.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)*
                    $name::Custom(s) => s,
                }
            }

            /// Reads a value: a well-known name, or a custom one kept as given.
            pub fn parse(text: &str) -> Self {
                match text {
                    $($text => $name::$variant,)*
                    other => $name::Custom(other.to_string()),
                }
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                $name::parse(text)
            }
        }

        impl From<String> for $name {
            fn from(text: String) -> Self {
                match $name::parse(&text) {
                    $name::Custom(_) => $name::Custom(text),
                    known => known,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                String::deserialize(deserializer).map($name::from)
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "type": "string",
                    "minLength": 1,
                    "description": concat!("Open set: a well-known value or any custom string. Well-known: ", $($text, " ",)*),
                    "examples": [$($text,)*]
                })
            }
        }
    };
}

open_set! {
    /// Where an interaction happens.
    Channel {
        /// A physical store or branch, in person.
        Store => "store",
        /// A voice call with a person.
        Phone => "phone",
        /// An interactive voice response system.
        Ivr => "ivr",
        /// E-mail.
        Email => "email",
        /// A website.
        Web => "web",
        /// A mobile app.
        MobileApp => "mobile_app",
        /// Live or bot chat.
        Chat => "chat",
        /// WhatsApp or a similar messenger.
        Whatsapp => "whatsapp",
        /// SMS.
        Sms => "sms",
        /// Social networks.
        Social => "social",
        /// A self-service kiosk.
        Kiosk => "kiosk",
        /// Field sales or a partner sales network.
        SalesNetwork => "sales_network",
        /// Advertising (print, TV, display).
        Advertising => "advertising",
        /// A wearable device.
        Wearable => "wearable",
    }
}

open_set! {
    /// The department that owns a touchpoint or handled an event.
    Department {
        /// Marketing.
        Marketing => "marketing",
        /// Sales.
        Sales => "sales",
        /// Customer support.
        Support => "support",
        /// Logistics and delivery.
        Logistics => "logistics",
        /// Billing and payments.
        Billing => "billing",
        /// Product and e-commerce.
        Product => "product",
        /// Operations and back office.
        Operations => "operations",
        /// Branch or store staff.
        Branch => "branch",
    }
}

open_set! {
    /// What a waypoint asks the host system to do. The library records actions; the host executes them.
    ActionKind {
        /// Offer the customer a callback.
        CallbackOffer => "callback_offer",
        /// Send an SMS.
        Sms => "sms",
        /// Send an e-mail.
        Email => "email",
        /// Show a pop-up on the web or in the app.
        Popup => "popup",
        /// Offer a chat.
        ChatOffer => "chat_offer",
        /// Offer a coupon.
        Coupon => "coupon",
        /// Connect the customer to an agent.
        AgentConnect => "agent_connect",
        /// Update the CRM profile.
        CrmUpdate => "crm_update",
        /// Route the interaction to a queue.
        RouteToQueue => "route_to_queue",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_custom_values_round_trip() {
        assert_eq!(Channel::parse("mobile_app"), Channel::MobileApp);
        assert_eq!(Channel::parse("hologram"), Channel::Custom("hologram".into()));
        let json = serde_json::to_string(&vec![Channel::Web, Channel::Custom("hologram".into())]).unwrap();
        assert_eq!(json, r#"["web","hologram"]"#);
        let back: Vec<Channel> = serde_json::from_str(&json).unwrap();
        assert_eq!(back[1].as_str(), "hologram");
        assert_eq!(Department::from("billing".to_string()), Department::Billing);
    }
}
