"""Hand-written inputs of the registry builder for countries (build time only).

Wikidata ids are listed only where known for certain; other countries get ``iso:<ALPHA3>``.
"""

from __future__ import annotations

__all__ = ["AMBIGUOUS_CAPITALS", "COMMON_WORDS", "COUNTRY_EXTRAS", "SKIP_COUNTRIES", "WIKIDATA_COUNTRY"]

WIKIDATA_COUNTRY: dict[str, str] = dict(
    pair.split("=")
    for pair in """
AFG=Q889 ALB=Q222 DZA=Q262 AND=Q228 AGO=Q916 ARG=Q414 ARM=Q399 AUS=Q408 AUT=Q40 AZE=Q227 BHS=Q778
BHR=Q398 BGD=Q902 BRB=Q244 BLR=Q184 BEL=Q31 BLZ=Q242 BEN=Q962 BTN=Q917 BOL=Q750 BIH=Q225 BWA=Q963
BRA=Q155 BRN=Q921 BGR=Q219 BFA=Q965 BDI=Q967 KHM=Q424 CMR=Q1009 CAN=Q16 CPV=Q1011 CAF=Q929 TCD=Q657
CHL=Q298 CHN=Q148 COL=Q739 COM=Q970 COD=Q974 COG=Q971 CRI=Q800 CIV=Q1008 HRV=Q224 CUB=Q241 CYP=Q229
CZE=Q213 DNK=Q35 DJI=Q977 DMA=Q784 DOM=Q786 ECU=Q736 EGY=Q79 SLV=Q792 GNQ=Q983 ERI=Q986 EST=Q191
ETH=Q115 FJI=Q712 FIN=Q33 FRA=Q142 GAB=Q1000 GMB=Q1005 GEO=Q230 DEU=Q183 GHA=Q117 GRC=Q41 GRD=Q769
GTM=Q774 GIN=Q1006 GNB=Q1007 GUY=Q734 HTI=Q790 HND=Q783 HUN=Q28 ISL=Q189 IND=Q668 IDN=Q252 IRN=Q794
IRQ=Q796 IRL=Q27 ISR=Q801 ITA=Q38 JAM=Q766 JPN=Q17 JOR=Q810 KAZ=Q232 KEN=Q114 KIR=Q710 PRK=Q423
KOR=Q884 KWT=Q817 KGZ=Q813 LAO=Q819 LVA=Q211 LBN=Q822 LSO=Q1013 LBR=Q1014 LBY=Q1016 LIE=Q347 LTU=Q37
LUX=Q32 MKD=Q221 MDG=Q1019 MWI=Q1020 MYS=Q833 MDV=Q826 MLI=Q912 MLT=Q233 MHL=Q709 MRT=Q1025 MUS=Q1027
MEX=Q96 FSM=Q702 MDA=Q217 MCO=Q235 MNG=Q711 MNE=Q236 MAR=Q1028 MOZ=Q1029 MMR=Q836 NAM=Q1030 NRU=Q697
NPL=Q837 NLD=Q55 NZL=Q664 NIC=Q811 NER=Q1032 NGA=Q1033 NOR=Q20 OMN=Q842 PAK=Q843 PLW=Q695 PSE=Q219060
PAN=Q804 PNG=Q691 PRY=Q733 PER=Q419 PHL=Q928 POL=Q36 PRT=Q45 QAT=Q846 ROU=Q218 RUS=Q159 RWA=Q1037
KNA=Q763 LCA=Q760 VCT=Q757 WSM=Q683 SMR=Q238 STP=Q1039 SAU=Q851 SEN=Q1041 SRB=Q403 SYC=Q1042 SLE=Q1044
SGP=Q334 SVK=Q214 SVN=Q215 SLB=Q685 SOM=Q1045 ZAF=Q258 SSD=Q958 ESP=Q29 LKA=Q854 SDN=Q1049 SUR=Q730
SWZ=Q1050 SWE=Q34 CHE=Q39 SYR=Q858 TWN=Q865 TJK=Q863 TZA=Q924 THA=Q869 TLS=Q574 TGO=Q945 TON=Q678
TTO=Q754 TUN=Q948 TUR=Q43 TKM=Q874 TUV=Q672 UGA=Q1036 UKR=Q212 ARE=Q878 GBR=Q145 USA=Q30 URY=Q77
UZB=Q265 VUT=Q686 VAT=Q237 VEN=Q717 VNM=Q881 YEM=Q805 ZMB=Q953 ZWE=Q954 ATG=Q781 HKG=Q8646 MAC=Q14773
GRL=Q223 PRI=Q1183 ESH=Q6250
""".split()
)

# Capitals left out as metonyms: also a common word, a person's or a US state's name, shared
# by several places, or contested.
AMBIGUOUS_CAPITALS = frozenset(
    """Washington|Washington, D.C.|Victoria|Kingston|Georgetown|Santiago|San José|San Jose|Hamilton|Malé|Male|
Praia|Sucre|Apia|Jamestown|Plymouth|Stanley|Road Town|The Valley|Douglas|Kingstown|Saint John's|St. John's|
Saint George's|Jerusalem|Nassau|Victoria|Avarua|Funafuti|Palikir|Belmopan|Basseterre|Roseau|Port Louis|
Charlotte Amalie|Saint Helier|St. Helier|Saint Peter Port|St. Peter Port|Adamstown|Alofi|Flying Fish Cove|
West Island|Kingston|Hagåtha|Hagåtña|Saipan|Pago Pago|Mata-Utu|Nouméa|Papeete|Cayenne|Basse-Terre|
Fort-de-France|Saint-Denis|Mamoudzou|Marigot|Gustavia|Philipsburg|Oranjestad|Willemstad|Kralendijk|
Tórshavn|Nuuk|Longyearbyen|Mariehamn|Gibraltar|Monaco|Luxembourg|Singapore|Kuwait City|Panama City|
Mexico City|Guatemala City|Brussels|Djibouti|San Marino|Vatican City|Brasília|Brasilia|Lima|Valletta|Victoria""".replace(
        "\n", ""
    ).split("|")
)

# Alternative spellings that are also English words ("Island" is Icelandic for Iceland).
COMMON_WORDS = frozenset({"Island", "Guiana", "Man"})

SKIP_COUNTRIES = frozenset({"ATA", "BVT", "HMD", "ATF", "UMI", "SGS", "ANT", "SCG"})

# Short forms and common names that countryinfo does not list.
COUNTRY_EXTRAS: dict[str, tuple[str, ...]] = {
    "USA": ("US", "U.S.", "USA", "U.S.A.", "United States of America", "America", "American", "Americans", "the States"),
    "GBR": ("UK", "U.K.", "Britain", "Great Britain", "British", "Briton", "Britons", "United Kingdom"),
    "RUS": ("Russian Federation", "Russians", "Kremlin"),
    "CHN": ("People's Republic of China", "PRC", "Chinese"),
    "TWN": ("Republic of China", "Taiwanese"),
    "KOR": ("Republic of Korea", "ROK", "South Korean", "South Koreans"),
    "PRK": ("DPRK", "North Korean", "North Koreans", "Democratic People's Republic of Korea"),
    "IRN": ("Islamic Republic of Iran", "Iranian", "Iranians", "Persia"),
    "ARE": ("UAE", "U.A.E.", "Emirati", "Emiratis", "Emirates"),
    "SAU": ("Saudi", "Saudis", "KSA", "Kingdom of Saudi Arabia"),
    "UKR": ("Kyiv", "Kiev", "Ukrainians"),
    "MMR": ("Burma", "Burmese", "Naypyidaw"),
    "CZE": ("Czechia", "Czech"),
    "CIV": ("Côte d'Ivoire", "Ivorian"),
    "COD": ("DRC", "DR Congo", "Democratic Republic of Congo", "Congo-Kinshasa"),
    "COG": ("Congo-Brazzaville", "Republic of Congo"),
    "NLD": ("Holland", "Dutch", "The Netherlands"),
    "PSE": ("Palestinian", "Palestinians", "Palestinian territories", "State of Palestine"),
    "ISR": ("Israeli", "Israelis"),
    "SYR": ("Syrian", "Syrians"),
    "IRQ": ("Iraqi", "Iraqis"),
    "AFG": ("Afghan", "Afghans"),
    "IND": ("Indian government", "New Delhi"),
    "TUR": ("Türkiye", "Turkish", "Turks", "Ankara"),
    "VNM": ("Viet Nam", "Vietnamese"),
    "MKD": ("North Macedonia", "Macedonia"),
    "SWZ": ("Eswatini",),
    "TLS": ("Timor-Leste",),
    "CPV": ("Cabo Verde",),
    "VAT": ("Holy See", "Vatican"),
    "BHS": ("Bahamas",),
    "GMB": ("Gambia",),
    "DEU": ("Berlin",),
}
