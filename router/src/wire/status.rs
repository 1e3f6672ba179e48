//! Binding Acknowledgement status codes: RFC 6275 section 6.1.8, the proxy
//! registration codes of RFC 5213 section 8.9 and the IPv4 support codes of
//! RFC 5844 section 8 (values as assigned in the IANA Mobility IPv6 registry).
//!
//! Values below 128 mean the binding was accepted.

enum_with_other! {
    /// Status of a Proxy Binding Acknowledgement; `Display` gives the RFC name.
    pub enum PbaStatus(u8) {
        Accepted = 0 => "ACCEPTED",
        AcceptedPrefixDiscoveryNecessary = 1 => "ACCEPTED_PREFIX_DISCOVERY_NECESSARY",
        ReasonUnspecified = 128 => "REASON_UNSPECIFIED",
        AdministrativelyProhibited = 129 => "ADMINISTRATIVELY_PROHIBITED",
        InsufficientResources = 130 => "INSUFFICIENT_RESOURCES",
        HomeRegistrationNotSupported = 131 => "HOME_REGISTRATION_NOT_SUPPORTED",
        NotHomeSubnet = 132 => "NOT_HOME_SUBNET",
        NotHomeAgentForThisMobileNode = 133 => "NOT_HOME_AGENT_FOR_THIS_MOBILE_NODE",
        DuplicateAddressDetectionFailed = 134 => "DUPLICATE_ADDRESS_DETECTION_FAILED",
        SequenceNumberOutOfWindow = 135 => "SEQUENCE_NUMBER_OUT_OF_WINDOW",
        ExpiredHomeNonceIndex = 136 => "EXPIRED_HOME_NONCE_INDEX",
        ExpiredCareofNonceIndex = 137 => "EXPIRED_CARE_OF_NONCE_INDEX",
        ExpiredNonces = 138 => "EXPIRED_NONCES",
        RegistrationTypeChangeDisallowed = 139 => "REGISTRATION_TYPE_CHANGE_DISALLOWED",
        ProxyRegNotEnabled = 152 => "PROXY_REG_NOT_ENABLED",
        NotLmaForThisMobileNode = 153 => "NOT_LMA_FOR_THIS_MOBILE_NODE",
        MagNotAuthorizedForProxyReg = 154 => "MAG_NOT_AUTHORIZED_FOR_PROXY_REG",
        NotAuthorizedForHomeNetworkPrefix = 155 => "NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX",
        TimestampMismatch = 156 => "TIMESTAMP_MISMATCH",
        TimestampLowerThanPrevAccepted = 157 => "TIMESTAMP_LOWER_THAN_PREV_ACCEPTED",
        MissingHomeNetworkPrefixOption = 158 => "MISSING_HOME_NETWORK_PREFIX_OPTION",
        BcePbuPrefixSetDoNotMatch = 159 => "BCE_PBU_PREFIX_SET_DO_NOT_MATCH",
        MissingMnIdentifierOption = 160 => "MISSING_MN_IDENTIFIER_OPTION",
        MissingHandoffIndicatorOption = 161 => "MISSING_HANDOFF_INDICATOR_OPTION",
        MissingAccessTechTypeOption = 162 => "MISSING_ACCESS_TECH_TYPE_OPTION",
        NotAuthorizedForIpv4MobilityService = 170 => "NOT_AUTHORIZED_FOR_IPV4_MOBILITY_SERVICE",
        NotAuthorizedForIpv4HomeAddress = 171 => "NOT_AUTHORIZED_FOR_IPV4_HOME_ADDRESS",
        NotAuthorizedForIpv6MobilityService = 172 => "NOT_AUTHORIZED_FOR_IPV6_MOBILITY_SERVICE",
        MultipleIpv4HomeAddressAssignmentNotSupported = 173
            => "MULTIPLE_IPV4_HOME_ADDRESS_ASSIGNMENT_NOT_SUPPORTED",
    }
    other: Unknown
}

impl PbaStatus {
    /// RFC 6275 section 6.1.8: values less than 128 indicate acceptance.
    pub fn is_accepted(self) -> bool {
        u8::from(self) < 128
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_value() {
        for value in 0..=u8::MAX {
            assert_eq!(u8::from(PbaStatus::from(value)), value);
        }
    }

    #[test]
    fn rfc_values() {
        assert_eq!(PbaStatus::from(0), PbaStatus::Accepted);
        assert_eq!(PbaStatus::from(152), PbaStatus::ProxyRegNotEnabled);
        assert_eq!(
            PbaStatus::from(161),
            PbaStatus::MissingHandoffIndicatorOption
        );
        assert_eq!(PbaStatus::from(162), PbaStatus::MissingAccessTechTypeOption);
        assert_eq!(
            PbaStatus::from(170),
            PbaStatus::NotAuthorizedForIpv4MobilityService
        );
        assert_eq!(
            PbaStatus::from(173),
            PbaStatus::MultipleIpv4HomeAddressAssignmentNotSupported
        );
        assert_eq!(PbaStatus::from(140), PbaStatus::Unknown(140));
    }

    #[test]
    fn acceptance() {
        assert!(PbaStatus::Accepted.is_accepted());
        assert!(PbaStatus::AcceptedPrefixDiscoveryNecessary.is_accepted());
        assert!(PbaStatus::Unknown(127).is_accepted());
        assert!(!PbaStatus::ReasonUnspecified.is_accepted());
        assert!(!PbaStatus::TimestampMismatch.is_accepted());
    }

    #[test]
    fn display_gives_rfc_name() {
        assert_eq!(
            PbaStatus::MissingHandoffIndicatorOption.to_string(),
            "MISSING_HANDOFF_INDICATOR_OPTION"
        );
        assert_eq!(PbaStatus::Unknown(200).to_string(), "Unknown(200)");
    }
}
